package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// podsByOwner lists the namespace's pods by the Deployment that made them
// (its ReplicaSet's name is DEPLOYMENT-HASH).
func podsByOwner(t *testing.T, ns string) map[string][]corev1.Pod {
	t.Helper()
	l, err := env.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]corev1.Pod{}
	for _, p := range l.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "ReplicaSet" {
			owner := strings.TrimSuffix(ref.Name, "-"+p.Labels["pod-template-hash"])
			out[owner] = append(out[owner], p)
		}
	}
	return out
}

// selectsExactly checks that a selector selects every pod of own and none
// of other, by their live labels.
func selectsExactly(t *testing.T, what string, sel *metav1.LabelSelector, own, other []corev1.Pod) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range own {
		if !s.Matches(labels.Set(p.Labels)) {
			t.Errorf("%s (%s) does not select its workload's pod %s %v", what, s, p.Name, p.Labels)
		}
	}
	for _, p := range other {
		if s.Matches(labels.Set(p.Labels)) {
			t.Errorf("%s (%s) selects the neighbour's pod %s %v", what, s, p.Name, p.Labels)
		}
	}
}

// evictDryRun asks the eviction API to evict a pod, without evicting it.
func evictDryRun(ns, pod string) error {
	return env.client.PolicyV1().Evictions(ns).Evict(context.Background(), &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: pod, Namespace: ns},
		DeleteOptions: &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}},
	})
}

// waitBudget waits until the disruption controller has counted a budget's
// pods and allows an eviction: only then does the eviction API answer for
// it rather than "cannot evict" (429).
func waitBudget(t *testing.T, ns, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.ObservedGeneration == p.Generation && p.Status.DisruptionsAllowed >= 1, nil
	})
	if err != nil {
		t.Fatalf("PodDisruptionBudget %s never allowed an eviction: %v", name, err)
	}
}

// resultOf finds the one result of a rule whose message holds substr.
func resultOf(t *testing.T, results []rules.Result, rule, substr string) rules.Result {
	t.Helper()
	for _, r := range results {
		if r.Rule == rule && strings.Contains(r.Message, substr) {
			return r
		}
	}
	t.Fatalf("no %s finding with %q in %+v", rule, substr, results)
	return rules.Result{}
}

// web selects {app: shop}, which api's pods carry too, and api has its own
// PodDisruptionBudget: the PDB and NetworkPolicy harden creates for web
// select web's pods and none of api's, so api's pods can still be evicted;
// a budget over both (as web's selector would have made it) breaks api's
// evictions, and harden says so.
func TestCompanionsSelectOwnPods(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/companions.yaml")
	waitRollout(t, ns, "deploy/web")
	waitRollout(t, ns, "deploy/api")

	// The audit (its inventory, not one workload's reads) plans the same
	// narrower budget.
	audit := harden(t, "audit", "-n", ns, "--fix=pdb,network-policy", "--dry-run=client", "-o", "diff")
	budget := "+  name: web\n+  namespace: " + ns + "\n+spec:\n+  maxUnavailable: 1\n+  selector:\n+    matchLabels:\n+      app: shop\n+      tier: web\n"
	if audit.code > 1 || !strings.Contains(audit.stdout, budget) {
		t.Errorf("audit --fix=pdb plans no budget over web's own pods:\n%s", audit)
	}

	// Exit 1: findings not chosen remain; hardenReport fails above.
	doc, _ := hardenReport(t, "deploy/web", "-n", ns, "--fix=pdb,network-policy", "--yes")
	for _, rule := range []string{"pdb", "network-policy"} {
		if f := findings(doc, rule); len(f) != 1 || f[0].Status != rules.StatusFixed {
			t.Errorf("%s: %+v, want one fixed finding", rule, f)
		}
	}
	pods := podsByOwner(t, ns)
	if len(pods["web"]) != 2 || len(pods["api"]) != 2 {
		t.Fatalf("pods: %d of web, %d of api", len(pods["web"]), len(pods["api"]))
	}
	ctx := context.Background()
	pdb, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	selectsExactly(t, "PodDisruptionBudget web", pdb.Spec.Selector, pods["web"], pods["api"])
	np, err := env.client.NetworkingV1().NetworkPolicies(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	selectsExactly(t, "NetworkPolicy web", &np.Spec.PodSelector, pods["web"], pods["api"])

	// Each pod has exactly one budget: the eviction API answers for both.
	waitBudget(t, ns, "api")
	waitBudget(t, ns, "web")
	for _, p := range []corev1.Pod{pods["api"][0], pods["web"][0]} {
		if err := evictDryRun(ns, p.Name); err != nil {
			t.Errorf("evicting %s (dry run): %v", p.Name, err)
		}
	}

	// The control: a budget over {app: shop}, as web's own selector would
	// have made it, leaves api's pods with two budgets. The eviction API
	// then refuses them, and harden names the budget and the neighbour.
	broad := strings.Join([]string{"apiVersion: policy/v1", "kind: PodDisruptionBudget", "metadata: {name: shop}",
		"spec:", "  maxUnavailable: 1", "  selector: {matchLabels: {app: shop}}", ""}, "\n")
	writeAndApply(t, ns, "broad-pdb.yaml", broad)
	err = evictDryRun(ns, pods["api"][0].Name)
	if err == nil || !strings.Contains(err.Error(), "more than one PodDisruptionBudget") {
		t.Fatalf("evicting an api pod under two budgets: %v, want the eviction API's refusal", err)
	}
	doc, _ = hardenReport(t, "deploy/web", "-n", ns)
	f := resultOf(t, findings(doc, "pdb"), "pdb", "PodDisruptionBudget shop selects the pods of deployment/api too, which PodDisruptionBudget api also selects")
	if f.Status != rules.StatusNeedsHuman || !strings.Contains(f.Reason, `narrow the selector of PodDisruptionBudget shop to this workload's own pods, e.g. selector: {"matchLabels":{"app":"shop","tier":"web"}}`) {
		t.Errorf("finding %+v: want needs-human with the narrower selector", f)
	}
}

// When every label of web's pods is on api's pods too, no selector selects
// web's pods alone: both companions need a human, who is told which
// workload overlaps, and harden creates nothing.
func TestCompanionsIndistinctPodsNeedHuman(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/companions-indistinct.yaml")
	waitRollout(t, ns, "deploy/web")
	waitRollout(t, ns, "deploy/api")

	doc, _ := hardenReport(t, "deploy/web", "-n", ns, "--fix=pdb,network-policy", "--yes")
	want := "pods of deployment/api carry every label of these pods (app=shop): give the pods a distinguishing label, e.g. app.kubernetes.io/component"
	for _, rule := range []string{"pdb", "network-policy"} {
		f := findings(doc, rule)
		if len(f) != 1 || f[0].Status != rules.StatusNeedsHuman || f[0].Reason != want {
			t.Errorf("%s: %+v, want needs-human: %s", rule, f, want)
		}
	}
	if doc.Workloads[0].Plan != nil {
		t.Errorf("a plan was made: %+v", doc.Workloads[0].Plan)
	}
	ctx := context.Background()
	pdbs, err := env.client.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pdbs.Items) != 1 || pdbs.Items[0].Name != "api" {
		t.Errorf("PodDisruptionBudgets after the run: %v %v, want api's only", err, pdbs)
	}
	nps, err := env.client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(nps.Items) != 0 {
		t.Errorf("NetworkPolicies after the run: %v %v, want none", err, nps)
	}
}

// writeAndApply writes a manifest into the test's temporary directory and
// applies it as users do, with kubectl apply -f.
func writeAndApply(t *testing.T, ns, name, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-n", ns, "-f", path)
}
