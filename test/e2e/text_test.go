package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// What the first hour shows: the text and JSON say the same status for
// each finding, a finding left to a human is never offered as a --fix,
// an unchosen one is "not-selected", a dry run never asks for --yes, a
// run that changes nothing says why, and the audit speaks in the singular.
func TestFirstHourText(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deploy/worker")

	// The worker has no Service: network-policy needs a human in both
	// outputs, and the hint never suggests it (nor resources: no usage data).
	doc, _ := hardenReport(t, "deploy/worker", "-n", ns)
	text := harden(t, "deploy/worker", "-n", ns)
	if text.code != 1 {
		t.Fatalf("want exit 1 (findings pending): %s", text)
	}
	for _, f := range doc.Workloads[0].Findings {
		row := regexp.MustCompile(`(?m)^  \S+\s+` + regexp.QuoteMeta(f.Rule) + `\s+` + regexp.QuoteMeta(string(f.Status)) + `\s+` + regexp.QuoteMeta(f.Message))
		if !row.MatchString(text.stdout) {
			t.Errorf("%s: JSON says %s, the text does not:\n%s", f.Rule, f.Status, text.stdout)
		}
		if f.Status == rules.StatusSkipped {
			t.Errorf("%s: skipped with nothing skipped (%q)", f.Rule, f.Reason)
		}
		if f.Status == rules.StatusNotSelected && !strings.HasPrefix(f.Reason, "not selected for fixing") {
			t.Errorf("%s: not-selected, reason %q", f.Rule, f.Reason)
		}
	}
	if f := finding(t, doc, "network-policy"); f.Status != rules.StatusNeedsHuman || !strings.Contains(f.Reason, "no Service sends traffic to the pods") {
		t.Errorf("network-policy: %s (%q), want needs-human", f.Status, f.Reason)
	}
	hint := regexp.MustCompile(`(?m)^  to fix: --fix=(\S+) \(or --fix=all\)$`).FindStringSubmatch(text.stdout)
	if hint == nil {
		t.Fatalf("no to-fix hint:\n%s", text.stdout)
	}
	for _, id := range strings.Split(hint[1], ",") {
		if id == "network-policy" || id == "resources" {
			t.Errorf("the hint offers %s, which needs a human: %s", id, hint[0])
		}
	}
	if !strings.Contains(","+hint[1]+",", ",rollout,") {
		t.Errorf("the hint lacks rollout: %s", hint[0])
	}

	// --dry-run=server, with or without --yes: the server judged the plan
	// and nothing was written; never "add --yes".
	gen := deployment(t, ns, "worker").Generation
	for _, args := range [][]string{{"--dry-run=server"}, {"--dry-run=server", "--yes"}} {
		r := harden(t, append([]string{"deploy/worker", "-n", ns, "--fix=rollout"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stdout, "  --dry-run=server: the API server accepted the plan; nothing was applied\n") ||
			strings.Contains(r.stdout, "add --yes") {
			t.Errorf("%v: %s", args, r)
		}
	}
	if got := deployment(t, ns, "worker").Generation; got != gen {
		t.Errorf("a dry run changed the Deployment: generation %d → %d", gen, got)
	}

	// Nothing to change: one line on stderr, not silence.
	for _, args := range [][]string{{"--fix=network-policy", "-o", "diff"}, {"--fix=resources", "-o", "patch"}, {"--fix=network-policy"}} {
		r := harden(t, append([]string{"deploy/worker", "-n", ns}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "nothing to change: ") || strings.Contains(r.stdout, "+++") {
			t.Errorf("%v: %s", args, r)
		}
	}
	if r := harden(t, "deploy/worker", "-n", ns, "--fix=resources", "-o", "diff"); !strings.Contains(r.stderr, "nothing to change: 2 findings need a human\n") {
		t.Errorf("--fix=resources -o diff: %s", r)
	}

	// A report-only rule says so.
	applyFile(t, ns, "testdata/e2e/hostpath.yaml")
	waitRollout(t, ns, "deploy/collector")
	r := harden(t, "deploy/collector", "-n", ns, "--fix=host-path", "-o", "diff")
	// The diff itself is empty; its header says why host-path needs a
	// human, as the text report does.
	if r.code != 1 || !strings.HasPrefix(r.stdout, "# deployment/collector -n "+ns+": host-path: needs a human: ") || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stderr, "nothing to change: host-path has no automatic fix (report only); 1 finding needs a human\n") {
		t.Errorf("--fix=host-path -o diff: %s", r)
	}

	// One namespace, in the singular.
	a := harden(t, "audit", "-n", ns)
	if !regexp.MustCompile(`over 6 workloads in 1 namespace: `).MatchString(a.stdout) {
		t.Errorf("audit: %s", a)
	}
}
