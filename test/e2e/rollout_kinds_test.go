package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// internalText is what must never reach a user: client-go and kubectl
// internals, and the Go dump of a refused value.
var internalText = regexp.MustCompile(`client rate limiter|rollout status is only available|PodTemplateSpec\{|core\.PodSpec|ObjectMeta:v1|would exceed context deadline`)

func noInternalText(t *testing.T, r result) {
	t.Helper()
	if m := internalText.FindString(r.stdout + r.stderr); m != "" {
		t.Errorf("internal error text %q reaches the user:\n%s", m, r)
	}
}

// waitPodsReady waits until ready reports true, polling the API.
func waitPodsReady(t *testing.T, what string, ready func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 90*time.Second, true, ready); err != nil {
		t.Fatalf("%s not ready: %v", what, err)
	}
}

// podNames lists the names of the pods the selector matches.
func podNames(t *testing.T, ns, selector string) []string {
	t.Helper()
	list, err := env.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out
}

// An OnDelete StatefulSet keeps every fix (no watch, no rollback): the
// output names the pods still on the old revision and how they take the
// change.
func TestRolloutOnDeleteStatefulSet(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/ondelete-statefulset.yaml")
	sts := env.client.AppsV1().StatefulSets(ns)
	waitPodsReady(t, "sts/db", func(ctx context.Context) (bool, error) {
		s, err := sts.Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 3, nil
	})

	insp := harden(t, "sts/db", "-n", ns, "-o", "text")
	if !strings.Contains(insp.stdout, "rollout          OnDelete") {
		t.Errorf("the snapshot does not show the OnDelete strategy:\n%s", insp)
	}

	r := harden(t, "sts/db", "-n", ns, "--fix=all", "--yes", "--timeout", "2m")
	noInternalText(t, r)
	// The OnDelete strategy itself is a finding a human settles: one remains.
	if r.code != 1 {
		t.Fatalf("want exit 1 (findings remain: the OnDelete strategy needs a human): %s", r)
	}
	want := "rollout: OnDelete — 3 pods (db-0, db-1, db-2) still run the old revision; they take the change when deleted"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "kubectl delete pod db-0 -n "+ns) {
		t.Errorf("output does not name the old-revision pods (%q):\n%s", want, r)
	}
	if strings.Contains(r.stdout+r.stderr, "rolled back") {
		t.Errorf("rolled back:\n%s", r)
	}
	s, err := sts.Get(context.Background(), "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Template.Spec.Containers[0].ReadinessProbe == nil || s.Spec.MinReadySeconds != 10 {
		t.Errorf("the fixes did not stay on the live object: readinessProbe %v, minReadySeconds %d",
			s.Spec.Template.Spec.Containers[0].ReadinessProbe, s.Spec.MinReadySeconds)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "db", metav1.GetOptions{}); err != nil {
		t.Errorf("the PDB companion did not stay: %v", err)
	}
	// The pods named are the ones the controller has not replaced.
	for _, p := range podNames(t, ns, "app=db") {
		pod, err := env.client.CoreV1().Pods(ns).Get(context.Background(), p, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Labels["controller-revision-hash"] == s.Status.UpdateRevision {
			t.Errorf("pod %s already runs the update revision %s", p, s.Status.UpdateRevision)
		}
	}

	// A second run changes nothing and still exits 1 for the OnDelete finding.
	doc, again := hardenReport(t, "sts/db", "-n", ns, "--fix=all", "--yes", "--timeout", "2m")
	if again.code != 1 || doc.Workloads[0].Plan != nil {
		t.Errorf("second run: %s", again)
	}
	if got := doc.Workloads[0].Rollout; !strings.HasPrefix(got, "OnDelete") {
		t.Errorf("report rollout %q, want the OnDelete note", got)
	}
}

// An OnDelete DaemonSet too: its pods' controller-revision-hash is
// compared with its newest ControllerRevision.
func TestRolloutOnDeleteDaemonSet(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/ondelete-daemonset.yaml")
	dss := env.client.AppsV1().DaemonSets(ns)
	var desired int32
	waitPodsReady(t, "ds/node-agent", func(ctx context.Context) (bool, error) {
		d, err := dss.Get(ctx, "node-agent", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		desired = d.Status.DesiredNumberScheduled
		return desired > 0 && d.Status.NumberReady == desired, nil
	})

	r := harden(t, "ds/node-agent", "-n", ns, "--fix=all", "--yes", "--timeout", "2m")
	noInternalText(t, r)
	if r.code != 1 {
		t.Fatalf("want exit 1 (the OnDelete finding remains): %s", r)
	}
	m := regexp.MustCompile(`rollout: OnDelete — (\d+) pods \(([^)]*)\) still run the old revision; they take the change when deleted`).FindStringSubmatch(r.stdout)
	if m == nil || m[1] != fmt.Sprint(desired) {
		t.Fatalf("output does not name the %d old-revision pods:\n%s", desired, r)
	}
	pods := podNames(t, ns, "app=node-agent")
	for _, name := range strings.Split(strings.Split(m[2], " and ")[0], ", ") {
		if !strings.HasPrefix(name, "node-agent-") || !strings.Contains(strings.Join(pods, " "), name) {
			t.Errorf("%q is not a pod of the DaemonSet (%v)", name, pods)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "rolled back") {
		t.Errorf("rolled back:\n%s", r)
	}
	d, err := dss.Get(context.Background(), "node-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Template.Spec.Containers[0].LivenessProbe == nil || d.Spec.MinReadySeconds != 10 {
		t.Errorf("the fixes did not stay: livenessProbe %v, minReadySeconds %d", d.Spec.Template.Spec.Containers[0].LivenessProbe, d.Spec.MinReadySeconds)
	}
	if d.Status.UpdatedNumberScheduled != 0 {
		t.Errorf("updatedNumberScheduled %d: OnDelete pods should all be on the old revision", d.Status.UpdatedNumberScheduled)
	}
}

// A paused Deployment is said to be paused at inspect; the fixes are
// applied without a watch and roll out when it is resumed.
func TestRolloutPausedDeployment(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	kubectl(t, "rollout", "pause", "-n", ns, "deploy/pair")

	insp := harden(t, "deploy/pair", "-n", ns, "-o", "text")
	if !strings.Contains(insp.stdout, "rollout          paused") || !strings.Contains(insp.stdout, "kubectl rollout resume deployment/pair -n "+ns) {
		t.Errorf("the snapshot does not show the Deployment is paused:\n%s", insp)
	}
	doc, _ := hardenReport(t, "deploy/pair", "-n", ns)
	if got := doc.Workloads[0].Rollout; !strings.HasPrefix(got, "paused") {
		t.Errorf("report rollout %q, want paused", got)
	}

	r := harden(t, "deploy/pair", "-n", ns, "--fix=all", "--yes", "--timeout", "2m")
	noInternalText(t, r)
	if r.code > 1 {
		t.Fatalf("--fix=all on a paused Deployment: %s", r)
	}
	if !strings.Contains(r.stdout, "rollout: paused — not watched; the change rolls out on resume (kubectl rollout resume deployment/pair -n "+ns+")") {
		t.Errorf("output does not say the change rolls out on resume:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, "rolled back") || strings.Contains(r.stdout+r.stderr, "did not complete") {
		t.Errorf("waited or rolled back:\n%s", r)
	}
	d := deployment(t, ns, "pair")
	if !d.Spec.Paused || d.Spec.MinReadySeconds != 10 || d.Spec.Template.Spec.Containers[0].LivenessProbe == nil {
		t.Errorf("the fixes did not stay: paused %v, minReadySeconds %d, livenessProbe %v", d.Spec.Paused, d.Spec.MinReadySeconds, d.Spec.Template.Spec.Containers[0].LivenessProbe)
	}
	// Resumed, it rolls the change out.
	kubectl(t, "rollout", "resume", "-n", ns, "deploy/pair")
	waitRollout(t, ns, "deploy/pair")
}

// A live Job's pod template is immutable: those fixes need a human (and
// say where to fix instead), the Job's own mutable fields are fixed, and
// no API error dump reaches the user.
func TestRolloutLiveJob(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/job.yaml")
	// The deadline is learned from a finished run (kwok completes the pod
	// at once): 3 × its length, at least 3600 s.
	kubectl(t, "wait", "-n", ns, "--for=condition=complete", "job/migrate", "--timeout=90s")

	doc, r := hardenReport(t, "job/migrate", "-n", ns, "--fix=all", "--yes")
	noInternalText(t, r)
	if r.code != 1 || !doc.Workloads[0].Applied {
		t.Fatalf("want the Job's own fixes applied and exit 1 (template findings remain): %s", r)
	}
	templated := 0
	for _, f := range doc.Workloads[0].Findings {
		if f.Status == rules.StatusNeedsHuman && strings.Contains(f.Reason, "pod template (spec.template) is immutable") {
			templated++
			if !strings.HasSuffix(f.Reason, "fix the manifest it is created from") {
				t.Errorf("%s: reason %q", f.Rule, f.Reason)
			}
		}
	}
	if templated == 0 {
		t.Errorf("no pod-template finding says the template is immutable: %s", r)
	}
	if got := doc.Workloads[0].Rollout; got != "" {
		t.Errorf("report rollout %q for a Job: nothing rolls out", got)
	}
	if fs := findings(doc, "job"); len(fs) == 0 || fs[0].Status != rules.StatusFixed {
		t.Errorf("the job rule's findings: %+v", fs)
	}
	j, err := env.client.BatchV1().Jobs(ns).Get(context.Background(), "migrate", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds != 3600 || j.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("the Job's mutable fields were not fixed: activeDeadlineSeconds %v, ttlSecondsAfterFinished %v",
			j.Spec.ActiveDeadlineSeconds, j.Spec.TTLSecondsAfterFinished)
	}

	// The text report says it too, on one line per finding.
	text := harden(t, "job/migrate", "-n", ns, "--fix=all", "--yes")
	noInternalText(t, text)
	if text.code != 1 || !strings.Contains(text.stdout, "needs-human") || !strings.Contains(text.stdout, "is immutable: fix the manifest it is created from") {
		t.Errorf("text report: %s", text)
	}
}

// A Job made from a CronJob names the CronJob to fix instead.
func TestRolloutCronJobOwnedJob(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/cronjob.yaml")
	kubectl(t, "create", "job", "-n", ns, "nightly-manual", "--from=cronjob/nightly")

	doc, r := hardenReport(t, "job/nightly-manual", "-n", ns, "--fix=all", "--yes")
	noInternalText(t, r)
	if r.code != 1 {
		t.Fatalf("want exit 1: %s", r)
	}
	named := 0
	for _, f := range doc.Workloads[0].Findings {
		if f.Status == rules.StatusNeedsHuman && strings.Contains(f.Reason, "is immutable") {
			if !strings.HasSuffix(f.Reason, "fix cronjob/nightly instead") {
				t.Errorf("%s: reason %q does not name the CronJob", f.Rule, f.Reason)
			}
			named++
		}
	}
	if named == 0 {
		t.Errorf("no finding names the owning CronJob: %s", r)
	}
}
