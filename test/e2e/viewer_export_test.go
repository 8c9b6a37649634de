package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// refusedDryRunLine is the one warning a read-only user gets when the API
// server refuses the preview's server-side dry-run of the Deployment.
const refusedDryRunLine = "warning: the API server's dry-run was refused (forbidden: patch deployments): planned offline, not checked by admission or field ownership — a user with patch rights can check it with --dry-run=server\n"

// A read-only auditor exports the fixes: its server-side dry-run is
// refused, so the run plans offline and says so in one line; what it
// writes is exactly what --dry-run=client writes, exit 1 (findings
// pending), and the Deployment is not touched. With --yes or an explicit
// --dry-run=server the refusal stays the error it is.
//
// Bound to view only, the user reads less than an admin (no nodes,
// bindings, Leases: some fixes need a human instead), so its exports are
// compared with its own --dry-run=client; bound to view and the read-only
// ClusterRole of docs/rbac/harden-audit.yaml, it reads what the admin
// reads, and its exports are the admin's --dry-run=client byte for byte.
func TestViewerExports(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deployment/api")
	rv := func() string {
		return kubectl(t, "get", "deployment/api", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}")
	}
	before := rv()

	viewer := userFor(ns, "viewexport")
	bindView(t, viewer, "", "view")
	t.Run("view", func(t *testing.T) { checkViewerExports(t, ns, viewer, "--as="+viewer) })

	auditor := userFor(ns, "auditexport")
	kubectl(t, "apply", "-f", filepath.Join(env.root, "docs/rbac/harden-audit.yaml"))
	bindView(t, auditor, "", "view")
	bindClusterRole(t, auditor+"-audit", auditor, "kubectl-harden-audit")
	t.Run("view and harden-audit", func(t *testing.T) { checkViewerExports(t, ns, auditor, "") })

	// audit --fix -o diff without --yes: the same warning, once.
	a := harden(t, "audit", "-n", ns, "--fix=all", "-o", "diff", "--as="+viewer)
	if a.code != 1 || strings.Count(a.stderr, "warning: the API server's dry-run was refused (forbidden: patch ") != 1 ||
		strings.Contains(a.stderr, "error:") || !strings.Contains(a.stdout, "+++ hardened/") || !strings.Contains(a.stdout, "would change") {
		t.Errorf("audit --fix=all -o diff as view:\n%s", a)
	}
	if after := rv(); after != before {
		t.Errorf("the read-only runs changed deployment/api: resourceVersion %s → %s", before, after)
	}
}

// checkViewerExports runs deploy/api's exports as user and compares each
// with the --dry-run=client run as refAs ("" for the admin).
func checkViewerExports(t *testing.T, ns, user, refAs string) {
	as := "--as=" + user
	run := func(args ...string) result {
		var kept []string
		for _, a := range args {
			if a != "" {
				kept = append(kept, a)
			}
		}
		return harden(t, append([]string{"deploy/api", "-n", ns, "--fix=all"}, kept...)...)
	}
	hint := regexp.MustCompile(`(?m)^  (to apply: add --yes \(review first with -o diff\)|--dry-run=client: .*)\n`)
	for _, format := range []string{"patch", "diff", "json", "text"} {
		ref := run("-o", format, "--dry-run=client", refAs)
		got := run("-o", format, as)
		if got.code != 1 || got.stderr != refusedDryRunLine {
			t.Errorf("-o %s: want exit 1 and only the refused dry-run's warning on stderr:\n%s", format, got)
		}
		if ref.code != 1 {
			t.Errorf("-o %s --dry-run=client %s:\n%s", format, refAs, ref)
		}
		// Only the text's closing hint differs: --dry-run=client says how
		// it planned, a run without it how to apply.
		if hint.ReplaceAllString(got.stdout, "") != hint.ReplaceAllString(ref.stdout, "") || !strings.Contains(got.stdout, "api") {
			t.Errorf("-o %s differs from --dry-run=client %s:\n--- %s:\n%s\n--- reference:\n%s", format, refAs, user, got.stdout, ref.stdout)
		}
	}
	if r := run("-o", "diff", as); !strings.Contains(r.stdout, "+++ hardened/") {
		t.Errorf("-o diff shows no diff:\n%s", r)
	}

	// The overlay: the same files, byte for byte.
	refDir, dir := filepath.Join(t.TempDir(), "ref"), filepath.Join(t.TempDir(), "user")
	if r := run("-o", "kustomize="+refDir, "--dry-run=client", refAs); r.code != 1 {
		t.Fatalf("-o kustomize --dry-run=client %s:\n%s", refAs, r)
	}
	if r := run("-o", "kustomize="+dir, as); r.code != 1 || r.stderr != refusedDryRunLine {
		t.Errorf("-o kustomize:\n%s", r)
	}
	refFiles, files := readDir(t, refDir), readDir(t, dir)
	if len(refFiles) == 0 || len(refFiles) != len(files) {
		t.Errorf("overlays: reference %d files, %s %d", len(refFiles), user, len(files))
	}
	for name, body := range refFiles {
		if files[name] != body {
			t.Errorf("overlay file %s differs:\n--- %s:\n%s\n--- reference:\n%s", name, user, files[name], body)
		}
	}

	// Writing live, or asking for the server's check, is refused as before.
	for _, args := range [][]string{{"--yes"}, {"--dry-run=server"}, {"-o", "patch", "--yes"}} {
		r := run(append(args, as)...)
		if r.code != 2 || !strings.Contains(r.stderr, "error: ") || !strings.Contains(r.stderr, "patch") || strings.Contains(r.stderr, "planned offline") {
			t.Errorf("%v: want the refusal as the error (exit 2):\n%s", args, r)
		}
	}
}

// bindClusterRole binds a ClusterRole to user cluster-wide, as an admin
// does (kubectl apply -f), under the binding name name; the binding is
// deleted after the test.
func bindClusterRole(t *testing.T, name, user, role string) {
	t.Helper()
	manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ` + name + `
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ` + role + `
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: ` + user + `
`
	path := filepath.Join(t.TempDir(), "binding.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	t.Cleanup(func() { runCmd(t, nil, "kubectl", "delete", "clusterrolebinding", name, "--ignore-not-found") })
	for i := 0; runCmd(t, nil, "kubectl", "auth", "can-i", "list", "nodes", "--as="+user).code != 0; i++ {
		if i == 100 {
			t.Fatalf("the binding of %s to %s is not honoured", role, user)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readDir reads every file under dir, by its path relative to dir.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// -f with a workload that is not live: it is one failed outcome, the
// live one is reported, exit 2; a single target not live stays one error
// line.
func TestFileWithWorkloadNotLive(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deployment/web")
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghost
  namespace: ` + ns + `
spec:
  selector:
    matchLabels: {app: ghost}
  template:
    metadata:
      labels: {app: ghost}
    spec:
      containers:
      - name: ghost
        image: nginx:1.27
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ` + ns + `
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`
	dir := t.TempDir()
	both := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(both, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	r := harden(t, "-f", both, "-o", "text")
	if r.code != 2 {
		t.Errorf("-f with ghost and web: want exit 2:\n%s", r)
	}
	for _, want := range []string{
		"deployment/web in namespace " + ns + ": score ",
		"failed       deployment/ghost -n " + ns + ": deployment/ghost in namespace " + ns + " (from " + both + ") is not live",
		" deployment/web -n " + ns + ": ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-f with ghost and web: stdout lacks %q:\n%s", want, r)
		}
	}
	if !strings.Contains(r.stderr, "error: 1 of 2 workloads failed: deployment/ghost -n "+ns) {
		t.Errorf("-f with ghost and web: stderr:\n%s", r)
	}

	ghost := filepath.Join(dir, "ghost.yaml")
	if err := os.WriteFile(ghost, []byte(strings.SplitN(manifest, "---\n", 2)[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	r = harden(t, "-f", ghost)
	if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "error: deployment/ghost in namespace "+ns+" (from "+ghost+") is not live") {
		t.Errorf("-f with ghost only: want one error line:\n%s", r)
	}
}

// A --set for a rule that plans nothing says so; a misspelt rule names
// the closest; --color is checked; -o and --set complete what they take.
func TestFirstHourFlags(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deployment/web")
	set := []string{"deploy/web", "-n", ns, "--fix=readiness-probe", "--set", "readiness-probe.path=/", "--yes"}
	if r := harden(t, set...); r.code > 1 || strings.Contains(r.stderr, "unused") {
		t.Errorf("--set used by the fix:\n%s", r)
	}
	r := harden(t, set...)
	if r.code > 1 || !strings.Contains(r.stderr, "--set readiness-probe.path: unused, readiness-probe has nothing to fix on deployment/web\n") {
		t.Errorf("--set with nothing to fix:\n%s", r)
	}
	for _, args := range [][]string{
		{"deploy/web", "-n", ns, "--set", "readines-probe.path=/x"},
		{"deploy/web", "-n", ns, "--color=sometimes"},
		{"audit", "-n", ns, "--color=bad"},
	} {
		r := harden(t, args...)
		if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "error: ") {
			t.Errorf("%v: want one error line, exit 2:\n%s", args, r)
		}
	}
	if r := harden(t, "deploy/web", "-n", ns, "--set", "readines-probe.path=/x"); !strings.Contains(r.stderr, "--set readines-probe.path=/x: unknown rule \"readines-probe\" (did you mean readiness-probe?)") {
		t.Errorf("--set typo:\n%s", r)
	}
	if r := harden(t, "__complete", "deploy/web", "-o", "kus"); !strings.HasPrefix(r.stdout, "kustomize=\n") {
		t.Errorf("-o kus<TAB>:\n%s", r)
	}
	if r := harden(t, "__complete", "deploy/web", "--set", "readiness-probe.pa"); !strings.HasPrefix(r.stdout, "readiness-probe.path=\t") {
		t.Errorf("--set readiness-probe.pa<TAB>:\n%s", r)
	}
}
