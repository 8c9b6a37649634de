package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
)

// exportsWorkload creates testdata/e2e/exports.yaml in a fresh namespace
// with client-side kubectl apply and plans --fix=all for it, as the
// plugin does, to know what the exports must produce.
func exportsWorkload(t *testing.T) (string, *apply.Applier, *plan.Plan) {
	t.Helper()
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/exports.yaml")
	waitRollout(t, ns, "deploy/x")
	a, p, _ := buildPlan(t, restConfig(t), ns, "Deployment", "x", "all")
	if len(p.Objects) < 2 {
		t.Fatalf("the plan changes %d objects: too few to prove anything", len(p.Objects))
	}
	return ns, a, p
}

// checkHardened requires the live objects to hold what the plan sets:
// the fields the fixes set on a changed object as planned, a companion
// as planned (the server may add defaults); and a few fixes by name.
func checkHardened(t *testing.T, a *apply.Applier, p *plan.Plan) {
	t.Helper()
	ctx := context.Background()
	for _, o := range p.Objects {
		live, err := a.Get(ctx, o)
		if err != nil {
			t.Errorf("%s: %v", o.Ref(), err)
			continue
		}
		got, want := live.Object, o.After
		if !o.Create {
			got, want = objmerge.Pick(got, o.Set), objmerge.Pick(want, o.Set)
		}
		if !objmerge.Contains(got, want) {
			t.Errorf("%s live:\n%s\nwant:\n%s", o.Ref(), plan.YAML(got), plan.YAML(want))
		}
	}
	ns := p.Objects[0].Namespace
	d := deployment(t, ns, "x")
	c := d.Spec.Template.Spec.Containers[0]
	pod := d.Spec.Template.Spec.SecurityContext
	switch {
	case d.Spec.Replicas == nil || *d.Spec.Replicas != 2:
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	case c.ReadinessProbe == nil || c.LivenessProbe == nil:
		t.Errorf("probes: readiness %v, liveness %v", c.ReadinessProbe, c.LivenessProbe)
	case pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot:
		t.Errorf("pod securityContext %+v, want runAsNonRoot", pod)
	case c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation:
		t.Errorf("container securityContext %+v, want allowPrivilegeEscalation false", c.SecurityContext)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "x", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	waitRollout(t, ns, "deploy/x")
}

// -o kustomize=DIR writes an overlay that kubectl builds as written and
// applies: the live Deployment then carries the fixes. Nothing is written
// live by harden itself.
func TestExportsKustomize(t *testing.T) {
	ns, a, p := exportsWorkload(t)
	gen := deployment(t, ns, "x").Generation
	dir := filepath.Join(t.TempDir(), "overlay")
	r := harden(t, "deploy/x", "-n", ns, "--fix=all", "-o", "kustomize="+dir)
	if r.code > 1 || !strings.Contains(r.stdout, filepath.Join(dir, "kustomization.yaml")) {
		t.Fatalf("kustomize: %s", r)
	}
	if d := deployment(t, ns, "x"); d.Generation != gen {
		t.Fatal("-o kustomize changed the live Deployment")
	}
	if out := kubectl(t, "kustomize", dir); !strings.Contains(out, "readinessProbe") || !strings.Contains(out, "kind: PodDisruptionBudget") {
		t.Errorf("kubectl kustomize %s:\n%s", dir, out)
	}
	checkOverlayNotes(t, dir, p)
	kubectl(t, "apply", "-k", dir)
	checkHardened(t, a, p)
}

// checkOverlayNotes requires, for each object of the plan, its file of the
// overlay to open with each fix's "# RULE: fix: …" and "# RULE: warning:
// …" lines and README.md to list them: a reviewer of the pull request
// sees where the numbers come from (the replicas count and the PDB's
// maxUnavailable are the rules' defaults).
func checkOverlayNotes(t *testing.T, dir string, p *plan.Plan) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	readme := read("README.md")
	for _, o := range p.Objects {
		name := strings.ToLower(o.Kind) + "-" + o.Name + ".yaml"
		if !o.Create {
			name = "patches/" + name
		}
		text := read(name)
		if len(o.Fixes) == 0 {
			t.Errorf("%s: the plan has no fix notes", o.Ref())
		}
		for _, n := range o.Fixes {
			if !strings.Contains(text, "# "+n.Rule+": fix: "+n.Description+"\n") {
				t.Errorf("%s lacks %s's fix %q:\n%s", name, n.Rule, n.Description, text)
			}
			for _, w := range n.Warnings {
				if !strings.Contains(text, "# "+n.Rule+": warning: "+w+"\n") {
					t.Errorf("%s lacks %s's warning %q", name, n.Rule, w)
				}
			}
			if !strings.Contains(readme, "**"+n.Rule+"**: ") {
				t.Errorf("README.md lacks %s's fix", n.Rule)
			}
		}
	}
	for _, want := range []string{"# replicas: fix: set spec.replicas to 2 (the rule's default, --set replicas.count=N)",
		"# pdb: fix: create PodDisruptionBudget x with maxUnavailable 1 (the rule's default"} {
		if !strings.Contains(read("patches/deployment-x.yaml")+read("poddisruptionbudget-x.yaml"), want) {
			t.Errorf("the overlay lacks %q", want)
		}
	}
}

// -o patch prints RFC 6902 operations that kubectl patch --type=json takes
// as they are, and the companions as manifests for kubectl apply -f; the
// README's jq lines do the same from a file.
func TestExportsPatch(t *testing.T) {
	ns, a, p := exportsWorkload(t)
	r := harden(t, "deploy/x", "-n", ns, "--fix=all", "-o", "patch")
	var entries []report.PatchEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || r.code > 1 || len(entries) != len(p.Objects) {
		t.Fatalf("-o patch: %v\n%s", err, r)
	}
	// Each entry says what its fixes do and where their numbers come from.
	for i, e := range entries {
		if !slices.EqualFunc(e.Fixes, p.Objects[i].Fixes, func(a, b plan.Note) bool {
			return a.Rule == b.Rule && a.Description == b.Description && slices.Equal(a.Warnings, b.Warnings)
		}) || len(e.Fixes) == 0 {
			t.Errorf("%s: fixes %+v, want %+v", e.Resource, e.Fixes, p.Objects[i].Fixes)
		}
		for _, f := range e.Fixes {
			if f.Rule == "replicas" && !strings.Contains(f.Description, "2 (the rule's default, --set replicas.count=N)") {
				t.Errorf("replicas: %q gives no source for its count", f.Description)
			}
		}
	}
	dir := t.TempDir()
	for _, e := range entries {
		switch e.Action {
		case "update":
			ops, _ := json.Marshal(e.Patch)
			kubectl(t, "patch", e.Resource, "-n", e.Namespace, "--type=json", "-p", string(ops))
		case "create":
			b, _ := json.Marshal(e.Object)
			path := filepath.Join(dir, strings.ReplaceAll(e.Resource, "/", "-")+".json")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			kubectl(t, "apply", "-f", path)
		default:
			t.Errorf("entry %+v", e)
		}
	}
	checkHardened(t, a, p)
	// Patched, the workload needs none of the patches again.
	r = harden(t, "deploy/x", "-n", ns, "--fix=all", "-o", "patch")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("-o patch after patching: %s", r)
	}

	// The README's lines, on a fresh copy of the workload.
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed: the README's jq lines are not tried")
	}
	ns, a, p = exportsWorkload(t)
	fixes := filepath.Join(t.TempDir(), "fixes.json")
	script := `set -eu
kubectl harden deploy/x -n "$NS" --fix=all -o patch > "$FIXES" || [ $? -eq 1 ]
jq -r '.[] | select(.action == "update") | "kubectl patch \(.resource) -n \(.namespace) --type=json -p \(.patch | tojson | @sh)"' "$FIXES" | sh
jq '.[] | select(.action == "create") | .object' "$FIXES" | kubectl apply -f -
jq -r '.[] | .resource as $r | .fixes[] | "\($r): \(.rule): \(.description)", (.warnings // [] | .[] | "  warning: \(.)")' "$FIXES"
`
	r = runCmd(t, []string{"NS=" + ns, "FIXES=" + fixes}, "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("the README's lines: %s", r)
	}
	if want := "deployment.apps/x: replicas: set spec.replicas to 2 (the rule's default"; !strings.Contains(r.stdout, want) {
		t.Errorf("the README's jq line for the review prints no %q:\n%s", want, r.stdout)
	}
	checkHardened(t, a, p)
}

// In the terminal UI, w asks for the folder, prefilled with
// harden-NS-KIND-NAME; the folder typed instead gets an overlay that
// kubectl builds, and nothing is written live.
func TestTUIWritesOverlay(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/exports.yaml")
	waitRollout(t, ns, "deploy/x")
	gen := deployment(t, ns, "x").Generation
	dir := t.TempDir()

	term := newTerminal(t, "cd "+dir+" && NO_COLOR=1 kubectl harden deploy/x -n "+ns)
	term.waitFor("findings", 30*time.Second)
	term.keys("w")
	term.waitFor("write the kustomize overlay to: harden-", 5*time.Second)
	term.waitFor("esc cancel", 5*time.Second)
	term.keys("Escape")
	term.waitFor("space toggle fix", 5*time.Second)
	term.keys("w")
	term.waitFor("write the kustomize overlay to: harden-", 5*time.Second)
	term.keys("C-u", "g", "i", "t", "o", "p", "s", "/", "x")
	term.waitFor("write the kustomize overlay to: gitops/x", 5*time.Second)
	term.keys("Enter")
	// As -o kustomize=DIR: the findings stay until the overlay is applied.
	if code := term.exitCode(); code != "1" {
		t.Fatalf("exit %s, want 1; the terminal shows:\n%s", code, term.screen())
	}
	if s := term.screen(); !strings.Contains(s, "wrote gitops/x/kustomization.yaml") {
		t.Errorf("no word of the overlay after the TUI:\n%s", s)
	}
	if out := kubectl(t, "kustomize", filepath.Join(dir, "gitops", "x")); !strings.Contains(out, "replicas: 2") {
		t.Errorf("kubectl kustomize:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "harden-"+ns+"-deployment-x")); !os.IsNotExist(err) {
		t.Errorf("the default folder was written too: %v", err)
	}
	if d := deployment(t, ns, "x"); d.Generation != gen {
		t.Error("w changed the live Deployment")
	}
}
