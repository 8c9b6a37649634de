package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
)

// The fault campaign for rollbacks and undo: another manager's edit
// during the rollout watch of a failing fix, a forced undo whose workload
// write fails, a companion write refused after the workload's, a rollback
// that may not delete its companion. Each fault must end in an allowed
// state: byte-equal to before; or, where another manager changed a field,
// exactly that field different and reported; and an undo afterwards that
// finishes what is left or says there is nothing to undo.
func TestFaultsRollback(t *testing.T) {
	tried, allowed := 0, 0
	fault := func(name string, f func(t *testing.T)) {
		ran := false
		ok := t.Run(name, func(t *testing.T) { ran = true; f(t) })
		if ran {
			tried++
			if ok {
				allowed++
			}
		}
	}
	fault("PatchProbeDuringWatch", faultPatchProbe)
	fault("ScaleDuringWatch", faultScale)
	fault("SetImageDuringWatch", faultSetImage)
	fault("ForcedUndoWorkloadWriteFails", faultForcedUndoRefused)
	fault("ForcedUndoOverProbeEdit", faultForcedUndoOverEdit)
	fault("CompanionAndRollbackRefused", faultJournalFirst)
	fault("RollbackMayNotDeleteCompanion", faultNoDeleteRights)
	fault("UndoUnderHPA", faultUndoUnderHPA)
	t.Logf("faults tried: %d, ended in an allowed state: %d", tried, allowed)
}

// background is a kubectl-harden run left going while the test acts.
type background struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
}

func startHardenBackground(t *testing.T, extraEnv []string, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command("kubectl-harden", args...)}
	b.cmd.Env = append(os.Environ(), extraEnv...)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errOut
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = b.cmd.Process.Kill()
			_, _ = b.cmd.Process.Wait()
		}
	})
	return b
}

func (b *background) wait(t *testing.T) result {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		_ = b.cmd.Process.Kill()
		<-done
		t.Fatalf("kubectl-harden did not end:\nstdout:\n%s\nstderr:\n%s", b.out.String(), b.errOut.String())
	}
	r := result{stdout: b.out.String(), stderr: b.errOut.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// holdNewPods stops the namespace from getting more pods than it has
// (a ResourceQuota), so a rollout stays in progress until release is
// called: the test edits the workload while harden watches, then lets the
// new (crashing) pods come.
func holdNewPods(t *testing.T, ns string, pods int) (release func()) {
	t.Helper()
	kubectl(t, "create", "quota", "hold", "-n", ns, "--hard=pods="+itoa(pods))
	return func() { kubectl(t, "delete", "quota", "hold", "-n", ns) }
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// waitForPDB waits until harden has written its companion: the workload
// is written and the watch is under way.
func waitForPDB(t *testing.T, ns, name string, b *background) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("harden never wrote its PDB:\nstdout:\n%s\nstderr:\n%s", b.out.String(), b.errOut.String())
	}
}

// failingRun starts a run whose new pods crash (readiness probe on
// /e2e-crash), holds the rollout, calls edit while harden watches, then
// lets the rollout fail, and returns how the run ended.
func failingRun(t *testing.T, ns, workload, pdb string, pods int, state string, fix string, edit func(), extra ...string) result {
	t.Helper()
	release := holdNewPods(t, ns, pods)
	args := append([]string{workload, "-n", ns, "--fix=" + fix, "--set", "readiness-probe.path=/e2e-crash", "--yes", "--timeout=150s"}, extra...)
	b := startHardenBackground(t, []string{"XDG_STATE_HOME=" + state}, args...)
	waitForPDB(t, ns, pdb, b)
	edit()
	release()
	return b.wait(t)
}

// validNow checks the API server takes the live object as it is (a
// server-side dry-run of an update with no change).
func validNow(t *testing.T, ns, ref string) {
	t.Helper()
	out := kubectl(t, "get", ref, "-n", ns, "-o", "json")
	path := filepath.Join(t.TempDir(), "live.json")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "replace", "--dry-run=server", "-f", path)
}

func specWith(t *testing.T, spec string, set func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(spec), &m); err != nil {
		t.Fatal(err)
	}
	set(m)
	b, _ := json.Marshal(m)
	return string(b)
}

func noRunToUndo(t *testing.T, state, ns, ref string) {
	t.Helper()
	oneErrorLine(t, runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "undo", ref, "-n", ns), "has no kubectl harden run to undo")
}

// (a) A kubectl patch of the periodSeconds of the probe harden added: the
// probe cannot stay without its handler, so it is put back as it was (no
// probe) and the lost edit is reported; the spec is byte-equal to before.
func faultPatchProbe(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	state := t.TempDir()
	r := failingRun(t, ns, "deploy/pair", "pair", 2, state, "readiness-probe,pdb", func() {
		kubectl(t, "patch", "deploy/pair", "-n", ns, "--type=json", "-p",
			`[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/periodSeconds","value":21}]`)
	})
	oneErrorLine(t, r, "CrashLoopBackOff", "rolled back: deployment/pair -n "+ns+" is as it was before",
		`.spec.template.spec.containers[name="app"].readinessProbe put back as it was before the run`,
		`readinessProbe.periodSeconds (21, set by kubectl-patch during the run)`)
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("spec differs after rollback:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
	validNow(t, ns, "deploy/pair")
	noRunToUndo(t, state, ns, "deploy/pair")
}

// (b) A kubectl scale of the replicas harden set (1 → 2): the 4 stay and
// are reported; everything else is byte-equal to before.
func faultScale(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/replicas.yaml")
	waitRollout(t, ns, "deploy/solo")
	before := specJSON(t, ns, "deploy", "solo")
	state := t.TempDir()
	r := failingRun(t, ns, "deploy/solo", "solo", 1, state, "replicas,readiness-probe,pdb", func() {
		kubectl(t, "scale", "deploy/solo", "-n", ns, "--replicas=4")
	}, "--force-conflicts")
	oneErrorLine(t, r, "rolled back: deployment/solo -n "+ns+" is as before except .spec.replicas (4, set by kubectl via /scale during the run)")
	if strings.Contains(r.stderr, "as it was before") {
		t.Errorf("claims as it was before:\n%s", r.stderr)
	}
	want := specWith(t, before, func(m map[string]any) { m["replicas"] = 4 })
	if after := specJSON(t, ns, "deploy", "solo"); after != want {
		t.Errorf("spec after rollback:\nwant %s\ngot  %s", want, after)
	}
	noPDB(t, ns)
	validNow(t, ns, "deploy/solo")
	noRunToUndo(t, state, ns, "deploy/solo")
}

// (c) A kubectl set image during the watch: the new image stays and is
// reported, the rest is byte-equal to before.
func faultSetImage(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	state := t.TempDir()
	r := failingRun(t, ns, "deploy/pair", "pair", 2, state, "readiness-probe,pdb", func() {
		kubectl(t, "set", "image", "deploy/pair", "-n", ns, "app=registry.example/pair:2.0")
	})
	oneErrorLine(t, r, `is as before except .spec.template.spec.containers[name="app"].image ("registry.example/pair:2.0", set by kubectl-set during the run)`)
	if strings.Contains(r.stderr, "as it was before") {
		t.Errorf("claims as it was before:\n%s", r.stderr)
	}
	want := strings.Replace(before, `"image":"registry.example/pair:1.0"`, `"image":"registry.example/pair:2.0"`, 1)
	if after := specJSON(t, ns, "deploy", "pair"); after != want {
		t.Errorf("spec after rollback:\nwant %s\ngot  %s", want, after)
	}
	noPDB(t, ns)
	noRunToUndo(t, state, ns, "deploy/pair")
}

// denyDeploymentWrites makes admission refuse real (not dry-run) updates
// of the namespace's Deployments that leave no kubectl harden undo record
// on them — harden's own write passes, its restore does not — until the
// returned func lifts it.
func denyDeploymentWrites(t *testing.T, ns, expression string) (lift func()) {
	t.Helper()
	ctx := context.Background()
	fail := admissionv1.Fail
	name := ns + "-no-deploy"
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "request.dryRun == true || " + expression, Message: "Deployments are frozen in this namespace"}},
		},
	}
	// A Deployment without pods tells when the policy is in effect.
	canary := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"canary"},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"canary"}},"template":{"metadata":{"labels":{"app":"canary"}},"spec":{"containers":[{"name":"c","image":"registry.example/canary:1"}]}}}}`
	if r := runCmd(t, nil, "sh", "-c", "echo '"+canary+"' | kubectl create -n "+ns+" -f -"); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := env.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		},
	}
	if _, err := env.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lifted, tries := false, 0
	lift = func() {
		if lifted {
			return
		}
		lifted = true
		_ = env.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = env.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
		// Lifted once a label update goes through again.
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			tries++
			return runCmd(t, nil, "kubectl", "label", "--overwrite", "deploy/canary", "-n", ns, "harden-e2e/lifted="+itoa(tries)).code == 0, nil
		})
		if err != nil {
			t.Fatalf("admission policy never went away: %v", err)
		}
	}
	t.Cleanup(lift)
	// In effect once a label update is refused.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		tries++ // a new value each time: always an update
		r := runCmd(t, nil, "kubectl", "label", "--overwrite", "deploy/canary", "-n", ns, "harden-e2e/probe="+itoa(tries))
		if r.code == 0 {
			return false, nil
		}
		return strings.Contains(r.stderr, "frozen"), nil
	})
	if err != nil {
		t.Fatalf("admission policy never took effect: %v", err)
	}
	return lift
}

// (d) A forced undo whose workload write is refused leaves the companions
// (they go only once the workload is back) and says so; once writes pass
// again, undo finishes: byte-equal to before, no PDB.
func faultForcedUndoRefused(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	state := []string{"XDG_STATE_HOME=" + t.TempDir()}
	if r := runCmd(t, state, "kubectl-harden", "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	waitRollout(t, ns, "deploy/pair")
	hardened := specJSON(t, ns, "deploy", "pair")
	lift := denyDeploymentWrites(t, ns, "false")
	r := runCmd(t, state, "kubectl-harden", "undo", "deploy/pair", "-n", ns, "--force-conflicts")
	oneErrorLine(t, r, "frozen", ns+"/poddisruptionbudget.policy/pair kept: companions are deleted only once the workload is restored")
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "pair", metav1.GetOptions{}); err != nil {
		t.Errorf("the PDB went before the workload was restored: %v", err)
	}
	if specJSON(t, ns, "deploy", "pair") != hardened {
		t.Error("the refused undo changed the workload")
	}
	lift()
	r = runCmd(t, state, "kubectl-harden", "undo", "deploy/pair", "-n", ns, "--force-conflicts")
	if r.code != 0 || !strings.Contains(r.stdout, "deleted:  poddisruptionbudget.policy/pair") {
		t.Fatalf("undo once writes pass: %s", r)
	}
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("spec differs after undo:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
	noRunToUndo(t, state[0][len("XDG_STATE_HOME="):], ns, "deploy/pair")
}

// A forced undo over a kubectl patch of the probe harden added puts the
// workload back byte for byte (it used to fail: "readinessProbe: Required
// value: must specify a handler type"); a plain undo refuses first.
func faultForcedUndoOverEdit(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	state := []string{"XDG_STATE_HOME=" + t.TempDir()}
	if r := runCmd(t, state, "kubectl-harden", "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	kubectl(t, "patch", "deploy/pair", "-n", ns, "--type=json", "-p",
		`[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/periodSeconds","value":21}]`)
	oneErrorLine(t, runCmd(t, state, "kubectl-harden", "undo", "deploy/pair", "-n", ns), "changed after kubectl harden set its fields")
	r := runCmd(t, state, "kubectl-harden", "undo", "deploy/pair", "-n", ns, "--force-conflicts")
	if r.code != 0 || !strings.Contains(r.stdout, "deleted:  poddisruptionbudget.policy/pair") {
		t.Fatalf("forced undo: %s", r)
	}
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("spec differs after forced undo:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
}

// journalLines reads the run's local journal.
func journalLines(t *testing.T, state, ns string) []apply.Entry {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(state, "kubectl-harden", "*", ns, "deployment.pair.jsonl"))
	if len(matches) != 1 {
		t.Fatalf("no local journal for deployment/pair in %s", state)
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []apply.Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e apply.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// (e) The PDB write is refused after the workload's, and so is the
// transaction's undo of the workload: the run ends naming the exact undo
// command; the local journal was written before the first write (its
// first line has every object pending) and records what happened, and
// undo finishes from it: byte-equal to before, and no "deleted" for the
// PDB that never existed.
func faultJournalFirst(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	denyPDBWrites(t, ns)
	// harden's write carries its undo record; a restore removes it.
	lift := denyDeploymentWrites(t, ns, `(has(object.metadata.annotations) && "harden.kubectl.dev/undo" in object.metadata.annotations)`)
	state := t.TempDir()
	r := runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes")
	oneErrorLine(t, r, "poddisruptionbudget.policy/pair", "frozen", "undoing "+ns+"/deployment.apps/pair failed too",
		"run kubectl harden undo deployment/pair -n "+ns+" once the cluster answers")
	lines := journalLines(t, state, ns)
	first := lines[0]
	for _, c := range first.Objects {
		if c.State != apply.StatePending {
			t.Errorf("first journal line: %s/%s is %q, want pending (recorded before the first write)", c.Kind, c.Name, c.State)
		}
	}
	last := lines[len(lines)-1]
	if got := []string{last.Objects[0].State, last.Objects[1].State}; got[0] != apply.StateFailed || got[1] != apply.StateAbsent {
		t.Errorf("last journal line: states %v, want [failed absent]", got)
	}
	lift()
	u := runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "undo", "deploy/pair", "-n", ns)
	if u.code != 0 || !strings.Contains(u.stdout, "restored: deployment.apps/pair") || strings.Contains(u.stdout, "deleted:") {
		t.Fatalf("undo: %s", u)
	}
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("spec differs after undo:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)
	if a := deployment(t, ns, "pair").Annotations[apply.UndoAnnotation]; a != "" {
		t.Errorf("undo record left on the workload: %s", a)
	}
	noRunToUndo(t, state, ns, "deploy/pair")
}

// (f) A user who may patch Deployments and create PDBs but not delete
// them: the failing rollout is rolled back, the PDB stays, and the
// suggested undo (by someone who may delete) finishes it.
func faultNoDeleteRights(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
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
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "no-delete", Namespace: ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: []string{"get", "list", "watch", "patch"}},
		{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"get", "list", "watch"}},
	}}
	if _, err := env.client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "no-delete", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "no-delete"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "limited", APIGroup: "rbac.authorization.k8s.io"}}}
	if _, err := env.client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		r := runCmd(t, nil, "kubectl", "auth", "can-i", "patch", "deployments", "-n", ns, "--context", "harden-limited")
		return r.code == 0, nil
	})
	if err != nil {
		t.Fatal("the role never took effect")
	}
	// The user may delete PDBs when the run starts (harden checks that up
	// front and refuses otherwise), and loses the right during the run.
	state := t.TempDir()
	r := failingRun(t, ns, "deploy/pair", "pair", 2, state, "readiness-probe,pdb", func() {
		role.Rules[1].Verbs = []string{"get", "list", "watch", "create", "patch"}
		if _, err := env.client.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
			return runCmd(t, nil, "kubectl", "auth", "can-i", "delete", "poddisruptionbudgets", "-n", ns, "--context", "harden-limited").code != 0, nil
		})
		if err != nil {
			t.Fatal("delete was never taken away")
		}
	}, "--context", "harden-limited")
	oneErrorLine(t, r, "CrashLoopBackOff", "rolling back failed too", "run kubectl harden undo deployment/pair -n "+ns)
	waitRollout(t, ns, "deploy/pair")
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("the workload was not rolled back:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "pair", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Fatal("the PDB is gone although the user may not delete it")
	}
	// The workload keeps the record while its companion is left, so an
	// undo from any machine finds it; the local journal has it too.
	if a := deployment(t, ns, "pair").Annotations[apply.UndoAnnotation]; !strings.Contains(a, `"state":"restored"`) {
		t.Errorf("the workload does not keep the record of the unfinished rollback: %q", a)
	}
	u := runCmd(t, []string{"XDG_STATE_HOME=" + state}, "kubectl-harden", "undo", "deploy/pair", "-n", ns)
	if u.code != 0 || !strings.Contains(u.stdout, "deleted:  poddisruptionbudget.policy/pair") || strings.Contains(u.stdout, "restored:") {
		t.Fatalf("undo after the rollback: %s", u)
	}
	noPDB(t, ns)
	if after := specJSON(t, ns, "deploy", "pair"); after != before {
		t.Errorf("undo changed the rolled-back workload:\nbefore %s\nafter  %s", before, after)
	}
	if a := deployment(t, ns, "pair").Annotations[apply.UndoAnnotation]; a != "" {
		t.Errorf("undo record left on the workload: %s", a)
	}
	noRunToUndo(t, state, ns, "deploy/pair")
}

// An HPA-managed workload: harden raised the HPA's minReplicas, the
// replicas moved since (as the HPA moves them); undo puts minReplicas
// back and says the replicas stay where they are — not "as before".
func faultUndoUnderHPA(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/hpa.yaml")
	waitRollout(t, ns, "deploy/scaled")
	state := []string{"XDG_STATE_HOME=" + t.TempDir()}
	if r := runCmd(t, state, "kubectl-harden", "deploy/scaled", "-n", ns, "--fix=replicas", "--force-conflicts", "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	kubectl(t, "scale", "deploy/scaled", "-n", ns, "--replicas=3")
	r := runCmd(t, state, "kubectl-harden", "undo", "deploy/scaled", "-n", ns, "--watch=false")
	if r.code != 0 || !strings.Contains(r.stdout, "restored: horizontalpodautoscaler.autoscaling/scaled") ||
		!strings.Contains(r.stdout, "note:     deployment/scaled keeps spec.replicas 3, where horizontalpodautoscaler.autoscaling/scaled scaled it: undo put back the HPA's minReplicas (1)") {
		t.Fatalf("undo: %s", r)
	}
	h, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "scaled", metav1.GetOptions{})
	if err != nil || h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 1 {
		t.Errorf("HPA minReplicas not put back: %v", err)
	}
}
