package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// countingTransport counts the requests that reach the API server.
type countingTransport struct {
	next  http.RoundTripper
	count atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.count.Add(1)
	return c.next.RoundTrip(r)
}

func makeDeployments(t *testing.T, ns string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		name := fmt.Sprintf("w%03d", i)
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0"}}}}}}
		if _, err := env.client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// The audit reads with a constant number of requests, whatever the number
// of workloads: one paginated LIST per kind, never a GET per workload.
func TestAuditRequestCountConstant(t *testing.T) {
	ns := newNamespace(t)
	count := func() (int64, int) {
		cfg := restConfig(t)
		ct := &countingTransport{}
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct }
		r := &inspect.Reader{Client: kubernetes.NewForConfigOrDie(cfg)}
		ctx := context.Background()
		cluster, err := r.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true}
		a := audit.New(rules.Selection{})
		err = r.EachNamespace(ctx, inspect.Scope{Namespace: ns, Kinds: kinds, ChunkSize: 1000}, func(inv *inspect.Inventory) error {
			_, err := a.Add(ctx, inv.Snapshots(cluster), inv.NamespaceSnapshot())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ct.count.Load(), a.Report().Workloads
	}
	makeDeployments(t, ns, 0, 3)
	small, n := count()
	if n != 3 {
		t.Fatalf("%d workloads audited, want 3", n)
	}
	makeDeployments(t, ns, 3, 60)
	large, n := count()
	if n != 60 {
		t.Fatalf("%d workloads audited, want 60", n)
	}
	if small != large {
		t.Errorf("requests grow with the workloads: %d for 3, %d for 60", small, large)
	}
	t.Logf("%d requests for 3 and for 60 workloads", large)
}

// The API server lists in the order of its storage keys, in which "x-b"
// comes before "x": the audit joins its lists by namespace as they stream
// in, page by page, and never needs to fall back to reading them whole.
func TestAuditStreamsNamespacesInKeyOrder(t *testing.T) {
	base := newNamespace(t)
	other := createNamespace(t, base+"-b")
	makeDeployments(t, base, 0, 2)
	makeDeployments(t, other, 0, 3)
	cfg := restConfig(t)
	cfg.QPS, cfg.Burst = 500, 500
	r := &inspect.Reader{Client: kubernetes.NewForConfigOrDie(cfg)}
	var seen []string
	workloads := map[string]int{}
	kinds := map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true}
	err := r.EachNamespace(context.Background(), inspect.Scope{Kinds: kinds, ChunkSize: 7}, func(inv *inspect.Inventory) error {
		if inv.Namespace == nil {
			return nil // deleted by another test while being read
		}
		name := inv.Namespace.Name
		seen = append(seen, name)
		workloads[name] = len(inv.Workloads)
		for _, w := range inv.Workloads {
			if w.Namespace() != name {
				t.Errorf("%s of namespace %s handed over with %s", w.Ref(), w.Namespace(), name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1]+"/" >= seen[i]+"/" {
			t.Errorf("namespace %s handed over after %s", seen[i], seen[i-1])
		}
	}
	if workloads[base] != 2 || workloads[other] != 3 {
		t.Errorf("%s: %d workloads, %s: %d; want 2 and 3", base, workloads[base], other, workloads[other])
	}
	if slices.Index(seen, other) > slices.Index(seen, base) {
		t.Errorf("%s handed over before %s: not in key order", base, other)
	}
}

// The audit of the demo shop, in table and JSON, with CI gates.
func TestAuditDemoShop(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	applyFile(t, ns, "testdata/e2e/cronjob.yaml")
	kubectl(t, "run", "debug", "-n", ns, "--image=busybox:1.36", "--restart=Never")
	waitRollout(t, ns, "deploy/pair")
	r := harden(t, "audit", "-n", ns)
	for _, want := range []string{"NAMESPACE", "deployment/pair", "cronjob/nightly", "namespace " + ns + ": score", "bare-pods: pod debug has no controller",
		"default-deny", "pod-security-labels: no pod-security.kubernetes.io/enforce label: the namespace admits privileged pods, while all its pods and pod templates already satisfy baseline (verified: the API server's dry-run of the label raises no warning)", "score "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit table lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("findings pending: exit %d, want 1", r.code)
	}
	r = harden(t, "audit", "-n", ns, "-o", "json")
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Kind != "AuditReport" || rep.Workloads != 2 || len(rep.Namespaces) != 1 || rep.Score <= 0 || rep.Score >= 100 {
		t.Fatalf("json: %v %+v", err, rep)
	}
	if r := harden(t, "audit", "-n", ns, "--fail-on=critical"); r.code != 0 {
		t.Errorf("--fail-on=critical with no critical finding: exit %d", r.code)
	}
	if r := harden(t, "audit", "-n", ns, "--fail-on=high"); r.code != 1 {
		t.Errorf("--fail-on=high: exit %d", r.code)
	}
	if r := harden(t, "audit", "-n", ns, "--min-score=1"); r.code != 0 {
		t.Errorf("--min-score=1: exit %d", r.code)
	}
	if r := harden(t, "audit", "-n", ns, "--min-score=100"); r.code != 1 {
		t.Errorf("--min-score=100: exit %d", r.code)
	}
	oneErrorLine(t, harden(t, "audit", "-n", ns, "--fail-on=urgent"), `unknown severity "urgent"`)
	// -A sees this namespace too.
	r = harden(t, "audit", "-A", "-o", "json")
	if !strings.Contains(r.stdout, `"name": "`+ns+`"`) {
		t.Errorf("-A misses %s", ns)
	}
}

// waitShop waits for the demo shop's rollouts.
func waitShop(t *testing.T, ns string) {
	t.Helper()
	for _, ref := range []string{"deploy/web", "deploy/api", "deploy/worker", "statefulset/db"} {
		waitRollout(t, ns, ref)
	}
}

// The demo shop's audit in every format, through the real binary: SARIF
// valid against the official schema, JUnit that parses back with the JSON
// report's counts, Markdown to paste in a ticket.
func TestAuditFormatsDemoShop(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitShop(t, ns)
	r := harden(t, "audit", "-n", ns, "-o", "json")
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Workloads != 5 {
		t.Fatalf("json: %v\n%s", err, r)
	}
	pending := rep.Pending.AtLeast(rules.Low)

	// SARIF
	r = harden(t, "audit", "-n", ns, "-o", "sarif")
	if r.code != 1 {
		t.Errorf("sarif: exit %d, want 1 (findings pending)", r.code)
	}
	if err := sariftest.Validate([]byte(r.stdout)); err != nil {
		t.Fatalf("the demo shop's SARIF is invalid: %v", err)
	}
	var log struct {
		Runs []struct {
			Tool    struct{ Driver struct{ Name string } }
			Results []struct {
				RuleID    string
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
					LogicalLocations []struct{ FullyQualifiedName string }
				}
				PartialFingerprints map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil {
		t.Fatal(err)
	}
	results := log.Runs[0].Results
	if len(results) != pending {
		t.Errorf("sarif: %d results, want the %d pending findings", len(results), pending)
	}
	privileged := false
	for _, res := range results {
		loc := res.Locations[0]
		if res.RuleID == "privileged" {
			privileged = res.Level == "error" && loc.PhysicalLocation.ArtifactLocation.URI == "namespaces/"+ns+"/deployment/web.yaml" &&
				loc.PhysicalLocation.Region.StartLine == 1 && loc.LogicalLocations[0].FullyQualifiedName == ns+"/deployment/web" &&
				strings.HasPrefix(res.Message.Text, "deployment/web in namespace "+ns+": ")
		}
		if res.PartialFingerprints["kubectlHarden/v1"] == "" {
			t.Errorf("result without a fingerprint: %+v", res)
		}
	}
	if !privileged {
		t.Errorf("sarif: no error-level privileged result located at deployment/web:\n%s", r.stdout)
	}
	again := harden(t, "audit", "-n", ns, "-o", "sarif")
	if again.stdout != r.stdout {
		t.Error("sarif: a second audit of the same state differs (fingerprints would not deduplicate)")
	}

	// JUnit
	r = harden(t, "audit", "-n", ns, "-o", "junit")
	var suites report.JUnitSuites
	if err := xml.Unmarshal([]byte(r.stdout), &suites); err != nil {
		t.Fatalf("junit: %v\n%s", err, r)
	}
	if len(suites.Suites) != 1 || suites.Suites[0].Name != ns || suites.Failures != pending || suites.Suites[0].Failures != pending {
		t.Errorf("junit: %d suites, %d failures; want 1 suite %s with %d", len(suites.Suites), suites.Failures, ns, pending)
	}
	failed, passed := 0, 0
	for _, c := range suites.Suites[0].Cases {
		switch {
		case c.Failure != nil:
			failed++
		case c.Skipped == nil:
			passed++
		}
	}
	if failed != pending || passed == 0 || suites.Tests != len(suites.Suites[0].Cases) {
		t.Errorf("junit: %d failing and %d passing of %d cases (tests=%d)", failed, passed, len(suites.Suites[0].Cases), suites.Tests)
	}

	// Markdown
	r = harden(t, "audit", "-n", ns, "-o", "markdown")
	for _, want := range []string{
		fmt.Sprintf("**Score %d/100** over 5 workloads in 1 namespace", rep.Score),
		"## Namespace " + ns + " — score ",
		"| deployment/web | ",
		"### deployment/web — score ",
		"- **critical** `privileged`: ",
		"  - remediation: ",
		"kubectl harden deployment/web -n " + ns + " --fix=",
		"kubectl harden cronjob/report -n " + ns + " --fix=",
		"### The namespace itself",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, r.stdout)
		}
	}

	// Bad formats: one error line, nothing printed.
	oneErrorLine(t, harden(t, "audit", "-n", ns, "-o", "pdf"), `--output must be one of table, json, yaml, sarif, junit, markdown, html, policyreport, openreports or html=FILE, got "pdf"`)
	oneErrorLine(t, harden(t, "audit", "-n", ns, "-o", "diff"), "-o diff shows what --fix would change")
	oneErrorLine(t, harden(t, "audit", "-n", ns, "--yes"), "--yes only applies with --fix")
}

// audit --fix on the demo shop plus a root-only image: without --yes
// nothing changes; with --yes every workload is fixed on the safe path but
// the root-only one, which rolls back without stopping the others; a
// second run has nothing to do.
func TestAuditFixDemoShop(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	applyFile(t, ns, "testdata/e2e/root-image.yaml")
	waitShop(t, ns)
	waitRollout(t, ns, "deploy/legacy")
	legacy := specJSON(t, ns, "deploy", "legacy")
	fix := []string{"audit", "-n", ns, "--fix=replicas,pdb,spread,run-as-non-root", "--force-conflicts", "--timeout=60s"}

	// A preview changes nothing and shows the diffs.
	gen := deployment(t, ns, "web").Generation
	r := harden(t, append(fix, "-o", "diff")...)
	if r.code != 1 || !strings.Contains(r.stdout, "would change deployment/web -n "+ns+": ") ||
		!strings.Contains(r.stdout, "+++ hardened/"+ns+"/poddisruptionbudget.policy/web") || !strings.Contains(r.stdout, "(to apply: add --yes)") {
		t.Fatalf("preview: %s", r)
	}
	// So does --yes with --dry-run=server: the API server's dry-run only.
	r = harden(t, append(fix, "--yes", "--dry-run=server")...)
	if r.code != 1 || !strings.Contains(r.stdout, "would change (--dry-run=server: the API server accepted the plan; nothing was applied)") {
		t.Errorf("--dry-run=server: %s", r)
	}
	if deployment(t, ns, "web").Generation != gen {
		t.Fatal("the preview changed deployment/web")
	}
	noPDB(t, ns)

	state := t.TempDir()
	r = runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", append(fix, "--yes")...)
	if r.code != 2 {
		t.Errorf("a workload rolled back: exit %d, want 2\n%s", r.code, r)
	}
	for _, want := range []string{
		"fixed        deployment/web -n " + ns + ": ",
		"fixed        deployment/api -n " + ns + ": ",
		"fixed        deployment/worker -n " + ns + ": ",
		"fixed        statefulset/db -n " + ns + ": ",
		"rolled back  deployment/legacy -n " + ns + ": rollout of deployment.apps/legacy failed: pod legacy-",
		"CreateContainerConfigError",
		"summary: fixed 5, rolled back 1, failed 0, unchanged 0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fix output lacks %q:\n%s", want, r)
		}
	}
	if !strings.Contains(r.stderr, "[1/6] ") || strings.Contains(r.stderr, "\x1b[") {
		t.Errorf("no plain progress lines on a stderr that is not a terminal:\n%s", r.stderr)
	}
	// Scores went up: "score B → A".
	var before, after int
	if _, err := fmt.Sscanf(r.stdout[strings.Index(r.stdout, "\nscore ")+1:], "score %d → %d", &before, &after); err != nil || after <= before {
		t.Errorf("scores %d → %d (%v)", before, after, err)
	}
	// On the server: PDBs for the Deployments, spread constraints, two
	// replicas; the root-only workload exactly as it was.
	ctx := context.Background()
	for _, name := range []string{"web", "api", "worker"} {
		if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("PDB %s: %v", name, err)
		}
		d := deployment(t, ns, name)
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 || *d.Spec.Replicas != 2 {
			t.Errorf("deployment/%s: replicas %d, spread %+v", name, *d.Spec.Replicas, d.Spec.Template.Spec.TopologySpreadConstraints)
		}
	}
	sts, err := env.client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil || len(sts.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Errorf("statefulset/db: %v %+v", err, sts.Spec.Template.Spec)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "legacy", metav1.GetOptions{}); err == nil {
		t.Error("the rolled back workload kept its PDB")
	}
	waitRollout(t, ns, "deploy/legacy")
	if got := specJSON(t, ns, "deploy", "legacy"); got != legacy {
		t.Errorf("deployment/legacy differs after its rollback:\nbefore %s\nafter  %s", legacy, got)
	}
	// The undo journal has each fixed workload's run.
	if h := runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "history", "deploy/web", "-n", ns); !strings.Contains(h.stdout, " harden ") {
		t.Errorf("history of deploy/web: %s", h)
	}

	// Again, without the root-only workload: nothing to do, nothing moves.
	gen = deployment(t, ns, "web").Generation
	r = harden(t, append(fix, "--yes", "-l", "app!=legacy")...)
	if !strings.Contains(r.stdout, "summary: fixed 0, rolled back 0, failed 0, unchanged 5") || r.code == 2 {
		t.Errorf("second run: %s", r)
	}
	if deployment(t, ns, "web").Generation != gen {
		t.Error("the second run changed deployment/web")
	}
}
