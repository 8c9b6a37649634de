package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
)

// faultTally counts the faults a suite tried and how many ended in an
// allowed state: byte-equal to before, or fully hardened with companions.
type faultTally struct{ tried, allowed int }

// try runs one fault as a subtest; it ended in an allowed state when the
// subtest passed.
func (f *faultTally) try(t *testing.T, name string, fault func(t *testing.T)) {
	f.tried++
	if t.Run(name, fault) {
		f.allowed++
	}
}

// Missing rights and multi-workload runs: a run the user could not roll
// back is refused before its first write; a failed workload among several
// does not stop the others; -f skips what is not a workload, live or not.
func TestFaultsRights(t *testing.T) {
	var tally faultTally
	tally.try(t, "MissingDeleteRefusedUpFront", missingDeleteRefusedUpFront)
	tally.try(t, "PatchOfOtherNamesOnly", patchOfOtherNamesOnly)
	tally.try(t, "SelectorRunContinuesPastFailure", selectorRunContinuesPastFailure)
	tally.try(t, "FileSkipsNonWorkloads", fileSkipsNonWorkloads)
	t.Logf("faults tried: %d, ended in an allowed state: %d", tally.tried, tally.allowed)
}

// grant applies RBAC manifests for the user "limited" (as an admin would,
// with kubectl apply) and waits until the API server's authoriser answers
// yes to each of can (e.g. "create poddisruptionbudgets -n NS").
func grant(t *testing.T, manifest string, can ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rbac.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	t.Cleanup(func() { runCmd(t, nil, "kubectl", "delete", "--ignore-not-found", "-f", path) })
	for _, c := range can {
		args := append([]string{"auth", "can-i", "--context", "harden-limited"}, strings.Fields(c)...)
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return strings.TrimSpace(runCmd(t, nil, "kubectl", args...).stdout) == "yes", nil
		})
		if err != nil {
			t.Fatalf("the user limited never got %q", c)
		}
	}
}

// grantAuditAnd gives the user "limited" the documented read-only role
// cluster-wide and, in ns, a Role of these rules (YAML list items), then
// waits until the authoriser answers yes to each of can (see grant).
func grantAuditAnd(t *testing.T, ns, roleRules string, can ...string) {
	t.Helper()
	kubectl(t, "apply", "-f", filepath.Join(env.root, "docs/rbac/harden-audit.yaml"))
	grant(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: `+ns+`-audit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-harden-audit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: harden-limited, namespace: `+ns+`}
rules:`+roleRules+`
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: harden-limited, namespace: `+ns+`}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: harden-limited}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
`, append([]string{"list nodes"}, can...)...)
}

// A user who may patch deployments and create PDBs, but not delete them,
// could not roll back a failed rollout: the run is refused before its first
// write, naming the missing verb, and nothing changes. With the documented
// fix role the same run hardens the deployment and creates the PDB.
func missingDeleteRefusedUpFront(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/replicas.yaml")
	waitRollout(t, ns, "deploy/solo")
	grantAuditAnd(t, ns, `
- {apiGroups: [apps], resources: [deployments], verbs: [patch]}
- {apiGroups: [policy], resources: [poddisruptionbudgets], verbs: [create, patch]}`, "patch deployments -n "+ns, "create poddisruptionbudgets -n "+ns)

	before := specJSON(t, ns, "deploy", "solo")
	gen := deployment(t, ns, "solo").Generation
	run := []string{"deploy/solo", "-n", ns, "--context", "harden-limited", "--fix=replicas,pdb", "--yes", "--force-conflicts", "--timeout=60s"}
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", run...)
	oneErrorLine(t, r, "cannot delete poddisruptionbudgets in namespace "+ns, "a failed rollout could not be rolled back", "nothing was changed")
	if after := specJSON(t, ns, "deploy", "solo"); after != before {
		t.Errorf("a refused run changed the spec:\nbefore %s\nafter  %s", before, after)
	}
	d := deployment(t, ns, "solo")
	if d.Generation != gen {
		t.Errorf("a refused run wrote the deployment: generation %d, was %d", d.Generation, gen)
	}
	if _, ok := d.Annotations[apply.UndoAnnotation]; ok {
		t.Error("a refused run left an undo record on the deployment")
	}
	noPDB(t, ns)
	// A read-only look still works for this user.
	if r := harden(t, "deploy/solo", "-n", ns, "--context", "harden-limited"); r.code != 1 {
		t.Errorf("inspecting with fewer rights: %s", r)
	}

	// The documented fix role is every right the run needs.
	kubectl(t, "apply", "-f", filepath.Join(env.root, "docs/rbac/harden-fix.yaml"))
	grant(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: harden-fix, namespace: `+ns+`}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-harden-fix}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
`, "delete poddisruptionbudgets -n "+ns)
	r = runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", run...)
	if r.code > 1 {
		t.Fatalf("with every right it needs: %s", r)
	}
	if d := deployment(t, ns, "solo"); d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas not raised: %v", d.Spec.Replicas)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "solo", metav1.GetOptions{}); err != nil {
		t.Errorf("no PDB after the run with every right: %v", err)
	}
}

// A user whose Role lets it patch other deployments by name (RBAC
// resourceNames) but not this one: the server-side dry-run is refused as
// the write would be, and the run says, in one line, which right is
// missing and that nothing was changed, not the API server's raw refusal.
func patchOfOtherNamesOnly(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/replicas.yaml")
	waitRollout(t, ns, "deploy/solo")
	grantAuditAnd(t, ns, `
- {apiGroups: [apps], resources: [deployments], verbs: [patch], resourceNames: [other]}`, "patch deployments/other -n "+ns)

	before := specJSON(t, ns, "deploy", "solo")
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "deploy/solo", "-n", ns, "--context", "harden-limited", "--fix=rollout", "--yes")
	oneErrorLine(t, r, "cannot patch deployments in namespace "+ns, "the fixes could not be applied", "nothing was changed")
	if after := specJSON(t, ns, "deploy", "solo"); after != before {
		t.Errorf("a refused run changed the spec:\nbefore %s\nafter  %s", before, after)
	}
}

// Three deployments by label, the middle one an image that fails under
// runAsNonRoot: it rolls back, the two others are fixed, each outcome is
// printed, and the run exits 2.
func selectorRunContinuesPastFailure(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/group.yaml")
	for _, d := range []string{"a-first", "b-middle", "c-last"} {
		waitRollout(t, ns, "deploy/"+d)
	}
	before := specJSON(t, ns, "deploy", "b-middle")
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "deploy", "-l", "app-group=x", "-n", ns,
		"--fix=run-as-non-root", "--yes", "--timeout=60s")
	oneErrorLine(t, r, "1 of 3 workloads failed: deployment/b-middle -n "+ns)
	for _, want := range []string{
		"fixed        deployment/a-first -n " + ns + ": 1 finding (run-as-non-root), rollout complete",
		"rolled back  deployment/b-middle -n " + ns + ": rollout of deployment.apps/b-middle failed: pod b-middle-",
		"fixed        deployment/c-last -n " + ns + ": 1 finding (run-as-non-root), rollout complete",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("outcome %q missing:\n%s", want, r)
		}
	}
	for _, d := range []string{"a-first", "c-last"} {
		sc := deployment(t, ns, d).Spec.Template.Spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s not fixed: %+v", d, sc)
		}
	}
	waitRollout(t, ns, "deploy/b-middle")
	if after := specJSON(t, ns, "deploy", "b-middle"); after != before {
		t.Errorf("b-middle differs after its rollback:\nbefore %s\nafter  %s", before, after)
	}
}

// -f with a live Deployment, its live Service and a ConfigMap that was
// never applied: the Deployment is hardened, the others are skipped with a
// note on stderr, and the run does not fail.
func fileSkipsNonWorkloads(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	pair, err := os.ReadFile(filepath.Join(env.root, "testdata/e2e/pair.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "app.yaml")
	cm := "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: never-applied}\ndata: {k: v}\n"
	if err := os.WriteFile(manifest, append(pair, cm...), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "-f", manifest, "-n", ns, "--fix=pdb", "--yes")
	if r.code > 1 {
		t.Fatalf("want exit 0 or 1: %s", r)
	}
	if !strings.Contains(r.stderr, "skipped 2 objects that are not workloads: service/pair, configmap/never-applied") {
		t.Errorf("no note on the skipped objects:\n%s", r)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "pair", metav1.GetOptions{}); err != nil {
		t.Errorf("the Deployment from the file was not hardened: %v\n%s", err, r)
	}
	if _, err := env.client.CoreV1().ConfigMaps(ns).Get(context.Background(), "never-applied", metav1.GetOptions{}); err == nil {
		t.Error("the ConfigMap from the file was created")
	}
}
