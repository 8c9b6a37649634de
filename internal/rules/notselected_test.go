package rules_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// A finding whose rule --fix left out is not-selected when some --fix
// would plan it, and needs-human (with the fix's own reason) when none
// would: the verdict is the same whatever was chosen.
func TestNotSelectedVerdict(t *testing.T) {
	caps := "../../plugins/capabilities/testdata/"
	res := "../../plugins/resources/testdata/"
	for _, tc := range []struct {
		name   string
		file   string
		sel    rules.Selection
		rule   string
		status rules.Status
		reason string // a part of the reason
	}{
		// run-as-non-root is planned by --fix=all (a guessed UID, not opt-in):
		// capabilities alone would leave the container root, with all it is fixed.
		{"capabilities, its companion unchosen", caps + "plain-root.yaml", rules.Selection{Fix: []string{"pdb"}}, "capabilities",
			rules.StatusNotSelected, "not selected for fixing: --fix=all fixes it; --fix=capabilities alone needs a human: container api runs as root"},
		{"capabilities, its companion chosen", caps + "plain-root.yaml", rules.Selection{Fix: []string{"run-as-non-root"}}, "capabilities",
			rules.StatusNotSelected, "not selected for fixing (--fix=capabilities)"},
		{"capabilities, nothing chosen", caps + "plain-root.yaml", rules.Selection{}, "capabilities",
			rules.StatusNotSelected, "--fix=all fixes it"},
		// redis: run-as-non-root is opt-in, so no --fix=all drops ALL.
		{"capabilities on a root image", caps + "redis-root.yaml", rules.Selection{}, "capabilities",
			rules.StatusNeedsHuman, "runs as root"},
		{"capabilities on a root image, all", caps + "redis-root.yaml", rules.Selection{Fix: []string{"all"}}, "capabilities",
			rules.StatusNeedsHuman, "runs as root"},
		{"resources without evidence", res + "failure-no-data.yaml", rules.Selection{}, "resources",
			rules.StatusNeedsHuman, "no usage data"},
		{"resources without evidence, chosen", res + "failure-no-data.yaml", rules.Selection{Fix: []string{"resources"}}, "resources",
			rules.StatusNeedsHuman, "no usage data"},
		{"skipped stays skipped", caps + "failure-default.yaml", rules.Selection{Skip: []string{"capabilities"}}, "capabilities",
			rules.StatusSkipped, "skipped by --skip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, err := rules.Evaluate(rulestest.Load(t, tc.file), tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range results {
				if r.Rule != tc.rule {
					continue
				}
				found = true
				if r.Status != tc.status || !strings.Contains(r.Reason, tc.reason) {
					t.Errorf("%s: %s (%q), want %s (%q)", r.Rule, r.Status, r.Reason, tc.status, tc.reason)
				}
				if r.Fix != nil {
					t.Errorf("%s: a %s finding carries a fix", r.Rule, r.Status)
				}
			}
			if !found {
				t.Fatalf("no %s finding in %s", tc.rule, tc.file)
			}
		})
	}
}

// Over every rule fixture: a finding left unselected needs a human
// exactly when --fix=all leaves it to a human, and is not-selected
// exactly when --fix=all plans it (or passes it over as opt-in).
func TestNotSelectedAgreesWithAll(t *testing.T) {
	files, err := filepath.Glob("../../plugins/*/testdata/failure*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures: %d, %v", len(files), err)
	}
	checked := 0
	workload := regexp.MustCompile(`(?m)^kind: (Deployment|StatefulSet|DaemonSet|Job|CronJob)\b|^- ?{?kind: (Deployment|StatefulSet|DaemonSet|Job|CronJob)\b`)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !workload.Match(data) { // namespace rules and bare pods
			continue
		}
		s := rulestest.Load(t, file)
		none, err := rules.Evaluate(s, rules.Selection{})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		all, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(none) != len(all) {
			t.Fatalf("%s: %d findings, %d with --fix=all", file, len(none), len(all))
		}
		for i := range none {
			n, a := none[i], all[i]
			if n.Rule != a.Rule || n.Container != a.Container || n.Field != a.Field {
				t.Fatalf("%s: findings in another order: %s/%s against %s/%s", file, n.Rule, n.Container, a.Rule, a.Container)
			}
			if n.Status == rules.StatusExempted {
				continue
			}
			checked++
			if (n.Status == rules.StatusNeedsHuman) != (a.Status == rules.StatusNeedsHuman) {
				t.Errorf("%s: %s (container %q): %s (%q) with nothing chosen, %s (%q) with --fix=all",
					file, n.Rule, n.Container, n.Status, n.Reason, a.Status, a.Reason)
			}
			if n.Status != rules.StatusNeedsHuman && n.Status != rules.StatusNotSelected {
				t.Errorf("%s: %s: %s with nothing chosen", file, n.Rule, n.Status)
			}
			if n.Status == rules.StatusNotSelected && !strings.HasPrefix(n.Reason, rules.NotSelected) {
				t.Errorf("%s: %s: not-selected with reason %q", file, n.Rule, n.Reason)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d findings checked", checked)
	}
}
