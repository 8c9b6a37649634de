package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// restrictedWarnings asks the API server, with a server-side dry-run of
// the namespace label, which running pods would violate Pod Security
// Standards restricted; nothing is changed.
func restrictedWarnings(t *testing.T, ns string) []string {
	t.Helper()
	r := runCmd(t, nil, "kubectl", "label", "--dry-run=server", "--overwrite", "ns", ns, "pod-security.kubernetes.io/enforce=restricted")
	if r.code != 0 {
		t.Fatalf("dry-run label: %s", r)
	}
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "Warning: ") && !strings.Contains(l, "existing pods in namespace") {
			out = append(out, strings.TrimPrefix(l, "Warning: "))
		}
	}
	return out
}

// violating returns the warnings about pods whose names start with prefix.
func violating(warnings []string, prefix string) []string {
	var out []string
	for _, w := range warnings {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}

// The demo shop, fixed with --fix=all --yes, still rolls out and its pods
// pass Pod Security Standards restricted by the API server's own check.
func TestDemoShopPassesRestricted(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	workloads := map[string]string{"deploy/web": "web-", "deploy/api": "api-", "deploy/worker": "worker-", "sts/db": "db-"}
	for ref := range workloads {
		waitRollout(t, ns, ref)
	}
	before := restrictedWarnings(t, ns)
	if len(violating(before, "web-")) == 0 {
		t.Fatalf("the fragile shop should violate restricted: %q", before)
	}
	// web runs privileged: dropping it is opt-in (what it used privilege
	// for would fail at runtime), so it is named here. So is non-root for
	// the images that start as root and switch user, with their user:
	// nginx's 101, postgres's 999 (a guess would break them).
	uids := map[string]string{"deploy/web": "101", "sts/db": "999"}
	for ref := range workloads {
		args := []string{ref, "-n", ns, "--fix=all,privileged,run-as-non-root", "--yes", "--force-conflicts"}
		if uid := uids[ref]; uid != "" {
			args = append(args, "--set", "run-as-non-root.uid="+uid)
		}
		doc, r := hardenReport(t, args...)
		if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
			t.Fatalf("%s: %s", ref, r)
		}
		for _, f := range doc.Workloads[0].Findings {
			if f.Category == rules.Security && f.Status == rules.StatusNeedsHuman && f.Rule != "secrets-in-env" && f.Rule != "service-account-token" {
				t.Errorf("%s: security finding left to a human: %+v", ref, f)
			}
		}
	}
	for ref := range workloads {
		waitRollout(t, ns, ref)
	}
	after := restrictedWarnings(t, ns)
	for ref, prefix := range workloads {
		if v := violating(after, prefix); len(v) > 0 {
			t.Errorf("%s still violates restricted: %q", ref, v)
		}
	}
	// The CronJob's template is hardened too; its deadline is given (a run
	// finishing between the two calls would otherwise teach one).
	if _, r := hardenReport(t, "cronjob/report", "-n", ns, "--fix=all", "--set", "job.active-deadline=1800", "--yes", "--force-conflicts"); r.code > 1 {
		t.Fatal(r)
	}
	doc, _ := hardenReport(t, "cronjob/report", "-n", ns, "--fix=all")
	if doc.Workloads[0].Plan != nil {
		t.Error("second run on the CronJob plans changes")
	}
}

// A root-only image under runAsNonRoot fails to start (a kwok Stage plays
// the kubelet's CreateContainerConfigError): the rollout watch rolls back.
func TestRunAsNonRootOnRootImageRollsBack(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/root-image.yaml")
	waitRollout(t, ns, "deploy/legacy")
	before := specJSON(t, ns, "deploy", "legacy")
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "deploy/legacy", "-n", ns, "--fix=run-as-non-root", "--yes")
	oneErrorLine(t, r, "CreateContainerConfigError (container has runAsNonRoot and image will run as root)", "rolled back")
	waitRollout(t, ns, "deploy/legacy")
	if after := specJSON(t, ns, "deploy", "legacy"); after != before {
		t.Errorf("spec differs after rollback:\nbefore %s\nafter  %s", before, after)
	}
}

// :latest is pinned to the digest the pods report, and run-as-non-root
// keeps the UID the kubelet reports (both reported through a kwok Stage).
func TestImageDigestAndLiveUID(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/live-facts.yaml")
	waitRollout(t, ns, "deploy/pinned")
	doc, r := hardenReport(t, "deploy/pinned", "-n", ns, "--fix=image,run-as-non-root", "--yes", "--force-conflicts")
	if !doc.Workloads[0].Applied {
		t.Fatal(r)
	}
	waitRollout(t, ns, "deploy/pinned")
	spec := deployment(t, ns, "pinned").Spec.Template.Spec
	if got := spec.Containers[0].Image; got != "nginx:latest@sha256:3333333333333333333333333333333333333333333333333333333333333333" {
		t.Errorf("image %q", got)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1001 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("securityContext %+v", sc)
	}
	doc, _ = hardenReport(t, "deploy/pinned", "-n", ns, "--fix=image,run-as-non-root")
	if doc.Workloads[0].Plan != nil {
		t.Error("second run plans changes")
	}
}

// network-policy, service-account-token, resources and job fixes land and
// converge.
func TestNetworkTokenResourcesAndJobFixes(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	applyFile(t, ns, "testdata/e2e/cronjob.yaml")
	waitRollout(t, ns, "deploy/pair")
	ctx := context.Background()
	if _, r := hardenReport(t, "deploy/pair", "-n", ns, "--fix=network-policy,service-account-token,resources", "--set", "network-policy.allow-from=ingress-nginx",
		// No metrics here: resources are sized from the user's values only.
		"--set", "resources.cpu=100m", "--set", "resources.memory=128Mi", "--set", "resources.memory-limit=256Mi", "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	np, err := env.client.NetworkingV1().NetworkPolicies(ns).Get(ctx, "pair", metav1.GetOptions{})
	if err != nil || len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.StrVal != "http" || len(np.Spec.Ingress[0].From) != 2 {
		t.Errorf("NetworkPolicy: %v %+v", err, np)
	}
	spec := deployment(t, ns, "pair").Spec.Template.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the unused token is still mounted")
	}
	if spec.Containers[0].Resources.Requests.Cpu().IsZero() || spec.Containers[0].Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", spec.Containers[0].Resources)
	}
	// It never ran: the deadline is the user's (without it, a human's).
	if _, r := hardenReport(t, "cronjob/nightly", "-n", ns, "--fix=job", "--set", "job.active-deadline=5400", "--yes", "--force-conflicts"); r.code > 1 {
		t.Fatal(r)
	}
	cj, err := env.client.BatchV1().CronJobs(ns).Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil || cj.Spec.ConcurrencyPolicy != "Forbid" || cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds == nil || cj.Spec.StartingDeadlineSeconds == nil {
		t.Errorf("cronjob: %v %+v", err, cj.Spec)
	}
	for ref, fixed := range map[string]string{"deploy/pair": "network-policy,service-account-token,resources", "cronjob/nightly": "job"} {
		doc, _ := hardenReport(t, ref, "-n", ns, "--fix="+fixed)
		if doc.Workloads[0].Plan != nil {
			t.Errorf("%s: second run plans changes", ref)
		}
	}
}

// A companion whose name someone else takes between planning and applying
// is never overwritten.
func TestCompanionNameTakenMeanwhile(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	applier, p, _ := buildPlan(t, restConfig(t), ns, "Deployment", "pair", "pdb")
	kubectl(t, "create", "poddisruptionbudget", "pair", "-n", ns, "--selector=team=other", "--max-unavailable=2")
	_, err := applier.DryRun(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "poddisruptionbudget.policy/pair already exists and was not created by kubectl harden") {
		t.Fatalf("dry-run over a foreign object: %v", err)
	}
	pdb, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "pair", metav1.GetOptions{})
	if err != nil || pdb.Spec.MaxUnavailable.IntValue() != 2 {
		t.Errorf("the foreign PDB changed: %v %+v", err, pdb.Spec)
	}
}
