package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// The resources fix sizes only from evidence, and says where each number
// comes from (the test cluster serves no metrics.k8s.io):
//   - nothing to size from: it writes nothing, and both findings need a
//     human, with a starting point and no memory limit guessed;
//   - a LimitRange: the requests and limit its admission gives the pods,
//     "LimitRange team-defaults" shown as their source in text and JSON;
//   - --set resources.…: the user's requests, "user" shown, and still no
//     memory limit guessed.
func TestResourcesSizedFromEvidence(t *testing.T) {
	t.Run("no data", func(t *testing.T) {
		ns := newNamespace(t)
		applyFile(t, ns, "testdata/e2e/unsized.yaml")
		waitRollout(t, ns, "deploy/unsized")
		gen := deployment(t, ns, "unsized").Generation
		r := harden(t, "deploy/unsized", "-n", ns, "--fix=resources", "--yes")
		if r.code != 1 {
			t.Errorf("exit %d, want 1 (findings left to a human)\n%s", r.code, r)
		}
		for _, want := range []string{
			"needs-human   container app has no requests.cpu, requests.memory — no usage data (metrics.k8s.io not served) and no LimitRange default for container app's requests.cpu, requests.memory: set requests from observed usage, e.g. start at cpu 100m, memory 128Mi and watch kubectl top (--set resources.cpu=100m --set resources.memory=128Mi); harden guesses no memory limit",
			"needs-human   container app has no limits.memory — no usage data (metrics.k8s.io not served): harden guesses no memory limit",
			"metrics          not served",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r)
			}
		}
		if strings.Contains(r.stdout, "  fix: ") {
			t.Errorf("a fix is shown, none was planned:\n%s", r.stdout)
		}
		d := deployment(t, ns, "unsized")
		if d.Generation != gen || !resourcesEmpty(d.Spec.Template.Spec.Containers[0].Resources) {
			t.Errorf("written: generation %d → %d, resources %+v", gen, d.Generation, d.Spec.Template.Spec.Containers[0].Resources)
		}
		doc, _ := hardenReport(t, "deploy/unsized", "-n", ns, "--fix=resources")
		for _, f := range findings(doc, "resources") {
			if f.Status != rules.StatusNeedsHuman || f.Fix != nil || !strings.Contains(f.Reason, "no usage data (metrics.k8s.io not served)") {
				t.Errorf("-o json: %+v", f)
			}
		}
	})

	t.Run("LimitRange", func(t *testing.T) {
		ns := newNamespace(t)
		applyFile(t, ns, "testdata/e2e/limitrange.yaml")
		applyFile(t, ns, "testdata/e2e/unsized.yaml")
		waitRollout(t, ns, "deploy/unsized")
		// The preview's JSON names the LimitRange as the source.
		doc, _ := hardenReport(t, "deploy/unsized", "-n", ns, "--fix=resources")
		var described []string
		for _, f := range findings(doc, "resources") {
			if f.Status != rules.StatusPlanned || f.Fix == nil {
				t.Fatalf("-o json: %+v", f)
			}
			described = append(described, f.Fix.Description)
		}
		for _, want := range []string{
			"set requests.cpu 150m (LimitRange team-defaults defaultRequest), requests.memory 192Mi (LimitRange team-defaults defaultRequest) of container app",
			"set limits.memory 384Mi (LimitRange team-defaults default) of container app",
		} {
			if !strings.Contains(strings.Join(described, "\n"), want) {
				t.Errorf("-o json descriptions %q lack %q", described, want)
			}
		}
		// Applied: the text shows each fix under its finding.
		r := harden(t, "deploy/unsized", "-n", ns, "--fix=resources", "--yes")
		if r.code != 1 { // the other rules' findings remain
			t.Fatalf("exit %d\n%s", r.code, r)
		}
		for finding, fix := range map[string]string{
			"fixed        container app has no requests.cpu, requests.memory": "fix: set requests.cpu 150m (LimitRange team-defaults defaultRequest)",
			"fixed        container app has no limits.memory":                 "fix: set limits.memory 384Mi (LimitRange team-defaults default) of container app",
		} {
			if got := lineAfter(r.stdout, finding); !strings.HasPrefix(strings.TrimSpace(got), fix) {
				t.Errorf("under %q: %q, want %q\n%s", finding, got, fix, r)
			}
		}
		res := deployment(t, ns, "unsized").Spec.Template.Spec.Containers[0].Resources
		if res.Requests.Cpu().String() != "150m" || res.Requests.Memory().String() != "192Mi" || res.Limits.Memory().String() != "384Mi" || !res.Limits.Cpu().IsZero() {
			t.Errorf("resources %+v", res)
		}
		if again, _ := hardenReport(t, "deploy/unsized", "-n", ns, "--fix=resources"); again.Workloads[0].Plan != nil || len(findings(again, "resources")) != 0 {
			t.Errorf("second run: %+v", again.Workloads[0].Findings)
		}
	})

	t.Run("user values", func(t *testing.T) {
		ns := newNamespace(t)
		applyFile(t, ns, "testdata/e2e/unsized.yaml")
		waitRollout(t, ns, "deploy/unsized")
		set := []string{"deploy/unsized", "-n", ns, "--fix=resources", "--set", "resources.cpu=250m", "--set", "resources.memory=256Mi"}
		r := harden(t, append(set, "-o", "diff")...)
		if want := "# deployment/unsized -n " + ns + ": resources: fix: set requests.cpu 250m (user: --set resources.cpu), requests.memory 256Mi (user: --set resources.memory) of container app\n"; !strings.Contains(r.stdout, want) {
			t.Errorf("-o diff lacks %q:\n%s", want, r)
		}
		doc, _ := hardenReport(t, append(set, "--yes")...)
		for _, f := range findings(doc, "resources") {
			switch f.Field {
			case "resources.requests":
				if f.Status != rules.StatusFixed || f.Fix == nil || !strings.Contains(f.Fix.Description, "requests.cpu 250m (user: --set resources.cpu)") {
					t.Errorf("requests: %+v %+v", f, f.Fix)
				}
			default:
				if f.Status != rules.StatusNeedsHuman || !strings.Contains(f.Reason, "harden guesses no memory limit") {
					t.Errorf("limit: %+v", f)
				}
			}
		}
		res := deployment(t, ns, "unsized").Spec.Template.Spec.Containers[0].Resources
		if res.Requests.Cpu().String() != "250m" || res.Requests.Memory().String() != "256Mi" || len(res.Limits) != 0 {
			t.Errorf("resources %+v", res)
		}
	})
}

func resourcesEmpty(r corev1.ResourceRequirements) bool {
	return len(r.Requests) == 0 && len(r.Limits) == 0 && len(r.Claims) == 0
}

// lineAfter is the line of out after the first one containing s, or "".
func lineAfter(out, s string) string {
	lines := strings.Split(out, "\n")
	words := func(l string) string { return strings.Join(strings.Fields(l), " ") }
	for i, l := range lines[:max(len(lines)-1, 0)] {
		if strings.Contains(words(l), words(s)) { // columns widen with the longest status
			return lines[i+1]
		}
	}
	return ""
}
