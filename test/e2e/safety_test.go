package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// specJSON is the workload's spec as the server holds it, for byte
// comparison before and after.
func specJSON(t *testing.T, ns, kind, name string) string {
	t.Helper()
	out := kubectl(t, "get", kind, name, "-n", ns, "-o", "jsonpath={.spec}")
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func noPDB(t *testing.T, ns string) {
	t.Helper()
	l, err := env.client.PolicyV1().PodDisruptionBudgets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) > 0 {
		t.Errorf("leftover PDB %s", l.Items[0].Name)
	}
}

// oneErrorLine checks the command failed with exit 2 and one error line
// containing every wanted piece.
func oneErrorLine(t *testing.T, r result, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if r.code != 2 || !strings.HasPrefix(last, "error: ") {
		t.Fatalf("want exit 2 and an error line:\n%s", r)
	}
	for _, w := range lines[:len(lines)-1] {
		if strings.HasPrefix(w, "error") {
			t.Errorf("more than one error line:\n%s", r.stderr)
		}
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("error line lacks %q:\n%s", w, last)
		}
	}
}

// A fix whose new pods crash (a kwok Stage makes containers probed on
// /e2e-crash crash-loop) is rolled back at once: the spec is byte-equal to
// before, the PDB it created is gone, and the error names the pod and why.
func TestRolloutFailureRollsBack(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	state := t.TempDir()
	r := runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "deploy/pair", "-n", ns,
		"--fix=readiness-probe,pdb", "--set", "readiness-probe.path=/e2e-crash", "--yes", "--timeout=60s")
	oneErrorLine(t, r, "rollout of deployment.apps/pair failed: pod pair-", "CrashLoopBackOff", "rolled back")
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("spec differs after rollback:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
	h := runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "history", "deploy/pair", "-n", ns)
	if !strings.Contains(h.stdout, " harden ") || !strings.Contains(h.stdout, " rollback ") {
		t.Errorf("history:\n%s", h)
	}
}

// harden → undo gives back the original spec byte for byte, fields taken
// from another manager included, and deletes the companions; a second
// undo has nothing to do.
func TestHardenThenUndo(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/replicas.yaml")
	waitRollout(t, ns, "deploy/solo")
	before := specJSON(t, ns, "deploy", "solo")
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	if r := runCmd(t, env, "kubectl-harden", "deploy/solo", "-n", ns, "--fix=all", "--yes", "--force-conflicts"); r.code > 1 {
		t.Fatal(r)
	}
	if specJSON(t, ns, "deploy", "solo") == before {
		t.Fatal("harden changed nothing")
	}
	// Running it again changes nothing: not even the generation moves.
	gen := deployment(t, ns, "solo").Generation
	if r := runCmd(t, env, "kubectl-harden", "deploy/solo", "-n", ns, "--fix=all", "--yes", "--force-conflicts", "-o", "json"); r.code > 1 || strings.Contains(r.stdout, `"applied": true`) {
		t.Errorf("second run applied something: %s", r)
	}
	if deployment(t, ns, "solo").Generation != gen {
		t.Error("second run changed the deployment")
	}
	// Undo from another machine: an empty local journal, the record on the object.
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "undo", "deploy/solo", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "deleted:  poddisruptionbudget.policy/solo") {
		t.Fatalf("undo: %s", r)
	}
	waitRollout(t, ns, "deploy/solo")
	if after := specJSON(t, ns, "deploy", "solo"); after != before {
		t.Errorf("spec differs after undo:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
	oneErrorLine(t, runCmd(t, env, "kubectl-harden", "undo", "deploy/solo", "-n", ns), "has no kubectl harden run to undo")
}

// Undo does not overwrite a change made after harden, unless forced.
func TestUndoRefusesLaterChanges(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	env := []string{"XDG_STATE_HOME=" + t.TempDir()}
	if r := runCmd(t, env, "kubectl-harden", "deploy/pair", "-n", ns, "--fix=rollout", "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	kubectl(t, "patch", "deploy/pair", "-n", ns, "--type=merge", "-p", `{"spec":{"minReadySeconds":20}}`)
	oneErrorLine(t, runCmd(t, env, "kubectl-harden", "undo", "deploy/pair", "-n", ns), "changed after kubectl harden set its fields", "--force-conflicts")
	if d := deployment(t, ns, "pair"); d.Spec.MinReadySeconds != 20 {
		t.Errorf("refused undo changed minReadySeconds to %d", d.Spec.MinReadySeconds)
	}
	if r := runCmd(t, env, "kubectl-harden", "undo", "deploy/pair", "-n", ns, "--force-conflicts"); r.code != 0 {
		t.Fatal(r)
	}
	if d := deployment(t, ns, "pair"); d.Spec.MinReadySeconds != 0 {
		t.Errorf("forced undo left minReadySeconds %d", d.Spec.MinReadySeconds)
	}
}

// denyPDBWrites makes the API server's admission refuse real (not dry-run)
// PDB creations in the namespace, with a ValidatingAdmissionPolicy: the
// dry-run passes and the write after the workload's fails, as when a
// permission or quota changes in between.
func denyPDBWrites(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-no-pdb"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{"policy"}, APIVersions: []string{"v1"}, Resources: []string{"poddisruptionbudgets"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "request.dryRun == true", Message: "PodDisruptionBudgets are frozen in this namespace"}},
		},
	}
	if _, err := env.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-no-pdb"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		},
	}
	if _, err := env.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
		_ = env.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), policy.Name, metav1.DeleteOptions{})
	})
	// The policy takes effect once the API server's informers see it.
	probe := `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"probe"},"spec":{"maxUnavailable":1,"selector":{"matchLabels":{"probe":"x"}}}}`
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		r := runCmd(t, nil, "sh", "-c", "echo '"+probe+"' | kubectl create -n "+ns+" -f -")
		if r.code == 0 {
			_ = env.client.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, "probe", metav1.DeleteOptions{})
			return false, nil
		}
		return strings.Contains(r.stderr, "frozen"), nil
	})
	if err != nil {
		t.Fatalf("admission policy never took effect: %v", err)
	}
}

// A companion write that fails after the workload's succeeded undoes the
// workload's: the plan is one transaction.
func TestCompanionFailureUndoesWorkload(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	denyPDBWrites(t, ns)
	before := specJSON(t, ns, "deploy", "pair")
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes")
	oneErrorLine(t, r, "poddisruptionbudget.policy/pair", "frozen", ns+"/deployment.apps/pair restored as it was")
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("spec differs:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
}

// buildPlan plans the fixes for a workload with the library, as the CLI
// does, so a test can act between planning and applying.
func buildPlan(t *testing.T, cfg *rest.Config, ns, kind, name string, fix ...string) (*apply.Applier, *plan.Plan, *apply.Entry) {
	t.Helper()
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cfg)
	groups, err := restmapper.GetAPIGroupResources(client.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	applier := &apply.Applier{Client: dynamic.NewForConfigOrDie(cfg), Mapper: mapper, FieldManager: plan.DefaultFieldManager}
	live, err := applier.Get(ctx, &plan.Object{APIVersion: "apps/v1", Kind: kind, Namespace: ns, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	w, err := inspect.NewWorkload(live)
	if err != nil {
		t.Fatal(err)
	}
	reader := &inspect.Reader{Client: client}
	cluster, err := reader.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reader.Snapshot(ctx, cluster, w)
	if err != nil {
		t.Fatal(err)
	}
	results, err := rules.Evaluate(s, rules.Selection{Fix: fix})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, results, plan.DefaultFieldManager)
	if err != nil {
		t.Fatal(err)
	}
	entry := apply.NewEntry(p, time.Now())
	if err := entry.Annotate(p); err != nil {
		t.Fatal(err)
	}
	return applier, p, entry
}

func restConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// An edit between planning and applying is detected by the plan's
// resourceVersion lock: nothing is written, and the CLI plans again.
func TestConcurrentEditIsNotClobbered(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	applier, p, entry := buildPlan(t, restConfig(t), ns, "Deployment", "pair", "readiness-probe", "pdb")
	kubectl(t, "scale", "deploy/pair", "-n", ns, "--replicas=3")
	err := applier.Apply(context.Background(), p, entry)
	if !errors.Is(err, apply.ErrChanged) {
		t.Fatalf("apply over a concurrent edit: %v, want ErrChanged", err)
	}
	if d := deployment(t, ns, "pair"); *d.Spec.Replicas != 3 || d.Spec.Template.Spec.Containers[0].ReadinessProbe != nil {
		t.Error("the concurrent edit was clobbered or the stale plan written")
	}
	noPDB(t, ns)
}

// refusingTransport lets a number of writes through, then behaves like an
// API server that has stopped: every request is refused.
type refusingTransport struct {
	next   http.RoundTripper
	writes atomic.Int32
	after  int32
	down   atomic.Bool
}

func (r *refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	write := req.Method != http.MethodGet && !strings.Contains(req.URL.RawQuery, "dryRun")
	if write && r.writes.Add(1) > r.after {
		r.down.Store(true)
	}
	if r.down.Load() {
		return nil, &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}
	}
	return r.next.RoundTrip(req)
}

// The API server going away mid-apply (after the workload's write, before
// the PDB's) gives a clear error naming what was written and what could
// not be undone; once the server answers, a re-run converges.
func TestServerGoneMidApplyThenRerunConverges(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	cfg := restConfig(t)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &refusingTransport{next: rt, after: 1} }
	applier, p, entry := buildPlan(t, cfg, ns, "Deployment", "pair", "readiness-probe", "pdb")
	err := applier.Apply(context.Background(), p, entry)
	var tx *apply.TxError
	if !errors.As(err, &tx) || !strings.Contains(err.Error(), "refused the connection") || !strings.Contains(err.Error(), "undoing "+ns+"/deployment.apps/pair failed too") {
		t.Fatalf("error: %v", err)
	}
	// The server is back: the same command converges, and then is a no-op.
	if doc, r := hardenReport(t, "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes"); !doc.Workloads[0].Applied {
		t.Fatalf("re-run: %s", r)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "pair", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	doc, _ := hardenReport(t, "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes")
	if doc.Workloads[0].Applied {
		t.Error("third run applied again")
	}
}

// GitOps-managed workloads get a warning, and -o kustomize=DIR writes the
// fixes as an overlay instead of applying them.
func TestGitOpsWarningAndKustomize(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	kubectl(t, "label", "deploy/pair", "-n", ns, "argocd.argoproj.io/instance=shop")
	// A GitOps-managed workload is never written live without
	// --force-conflicts: every fix is a conflict naming Argo CD.
	gen := deployment(t, ns, "pair").Generation
	r := harden(t, "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes")
	if r.code != 1 || !strings.Contains(r.stdout, "managed by Argo CD application shop: its next sync reverts a live change") {
		t.Errorf("no GitOps conflict:\n%s", r)
	}
	if d := deployment(t, ns, "pair"); d.Generation != gen || d.Spec.Template.Spec.Containers[0].ReadinessProbe != nil {
		t.Error("a GitOps-managed workload was written live without --force-conflicts")
	}
	dir := filepath.Join(t.TempDir(), "overlay")
	r = harden(t, "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "-o", "kustomize="+dir)
	if r.code != 1 || !strings.Contains(r.stdout, "kustomization.yaml") {
		t.Fatalf("kustomize: %s", r)
	}
	var k struct {
		Resources []string
		Patches   []struct{ Path string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil || yaml.Unmarshal(b, &k) != nil || len(k.Resources) != 2 || k.Resources[0] != "base" || len(k.Patches) != 1 {
		t.Fatalf("kustomization.yaml: %v\n%s", err, b)
	}
	patch, _ := os.ReadFile(filepath.Join(dir, k.Patches[0].Path))
	if !strings.Contains(string(patch), "readinessProbe") || strings.Contains(string(patch), "resourceVersion") || strings.Contains(string(patch), "image:") {
		t.Errorf("patch:\n%s", patch)
	}
	// kubectl itself builds the overlay as written.
	if out := kubectl(t, "kustomize", dir); !strings.Contains(out, "readinessProbe") || !strings.Contains(out, "kind: PodDisruptionBudget") {
		t.Errorf("kustomize build:\n%s", out)
	}
	if d := deployment(t, ns, "pair"); d.Spec.Template.Spec.Containers[0].ReadinessProbe != nil {
		t.Error("-o kustomize applied something")
	}
}

// With read-only RBAC, inspecting works and a fix fails before any write,
// naming the verb and resource that are missing (docs/rbac.md has the
// roles).
func TestRBACReadOnlyUser(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	ctx := context.Background()
	kubectl(t, "apply", "-f", filepath.Join(env.root, "docs/rbac/harden-audit.yaml"))
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns + "-limited"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "kubectl-harden-audit"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "limited", APIGroup: "rbac.authorization.k8s.io"}}}
	if _, err := env.client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		return harden(t, "deploy/pair", "-n", ns, "--context", "harden-limited").code == 1, nil
	})
	if err != nil {
		t.Fatalf("read-only user cannot inspect: %s", harden(t, "deploy/pair", "-n", ns, "--context", "harden-limited"))
	}
	r := harden(t, "deploy/pair", "-n", ns, "--context", "harden-limited", "--fix=readiness-probe", "--yes")
	oneErrorLine(t, r, "cannot patch deployments in namespace "+ns, "the fixes could not be applied", "nothing was changed")
	if d := deployment(t, ns, "pair"); d.Spec.Template.Spec.Containers[0].ReadinessProbe != nil {
		t.Error("a forbidden fix changed the deployment")
	}
}
