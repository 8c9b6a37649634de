package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// One namespace, one workload: the audit's closing line says so in the
// singular.
func TestAuditTablePlurals(t *testing.T) {
	for _, tc := range []struct {
		rep  *audit.Report
		want string
	}{
		{&audit.Report{Score: 90, Workloads: 1, Namespaces: []audit.Namespace{{Name: "demo", Workloads: []audit.Workload{{Kind: "Deployment", Name: "web"}}}}},
			"90/100 over 1 workload in 1 namespace: "},
		{&audit.Report{Score: 90, Workloads: 2, Namespaces: []audit.Namespace{{Name: "a"}, {Name: "b"}}},
			"90/100 over 2 workloads in 2 namespaces: "},
		{&audit.Report{Score: 100}, "100/100 over 0 workloads in 0 namespaces: "},
	} {
		var buf bytes.Buffer
		if err := WriteAuditTable(&buf, tc.rep, NewStyles(false)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("audit table lacks %q:\n%s", tc.want, buf.String())
		}
	}
}

// The text report keeps every reason, but not the "not selected for
// fixing (--fix=ID)" its STATUS column and the hint already say.
func TestTextNotes(t *testing.T) {
	res := func(rule string, st rules.Status, reason string) rules.Result {
		return rules.Result{Finding: rules.Finding{Rule: rule, Severity: rules.High, Message: rule + " message"}, Status: st, Reason: reason}
	}
	wl := Workload{Kind: "Deployment", Namespace: "demo", Name: "worker", Findings: []rules.Result{
		res("pdb", rules.StatusNotSelected, "not selected for fixing (--fix=pdb)"),
		res("capabilities", rules.StatusNotSelected, "not selected for fixing: --fix=all fixes it; --fix=capabilities alone needs a human: root"),
		res("rollout", rules.StatusSkipped, rules.SkippedByFlag),
		res("network-policy", rules.StatusNeedsHuman, "no Service sends traffic to the pods"),
	}}
	var buf bytes.Buffer
	WriteText(&buf, wl, nil, NewStyles(false))
	lines := strings.Split(buf.String(), "\n")
	for rule, want := range map[string]string{
		"pdb":            "not-selected  pdb message",
		"capabilities":   "not-selected  capabilities message — --fix=all fixes it; --fix=capabilities alone needs a human: root",
		"rollout":        "skipped       rollout message — skipped by --skip",
		"network-policy": "needs-human   network-policy message — no Service sends traffic to the pods",
	} {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, " "+rule+" ") })
		if i < 0 || !strings.HasSuffix(lines[i], want) {
			t.Errorf("%s: line %q, want it to end in %q", rule, lines[max(i, 0)], want)
		}
	}
	if strings.Contains(buf.String(), "not selected for fixing") {
		t.Errorf("the status is said twice:\n%s", buf.String())
	}
}

// The audit's fix command names only what a --fix would plan: never a
// rule whose findings need a human whatever is chosen.
func TestFixableRulesLeaveHumanFindings(t *testing.T) {
	rep := demoAudit(t)
	checked := 0
	for _, wl := range rep.Namespaces[0].Workloads {
		ids := audit.FixableRules(wl)
		for _, f := range wl.Findings {
			switch {
			case f.Status == rules.StatusNeedsHuman && slices.Contains(ids, f.Rule) &&
				!slices.ContainsFunc(wl.Findings, func(g rules.Result) bool { return g.Rule == f.Rule && g.Status == rules.StatusNotSelected }):
				t.Errorf("%s: the fix command names %s, whose findings all need a human (%s)", wl.Name, f.Rule, f.Reason)
			case f.Status == rules.StatusNotSelected && f.OptIn == "" && !slices.Contains(ids, f.Rule):
				t.Errorf("%s: the fix command lacks %s (%s)", wl.Name, f.Rule, f.Reason)
			case f.Status == rules.StatusNotSelected:
				checked++
			}
		}
	}
	if checked == 0 {
		t.Error("no not-selected finding in the demo audit")
	}
}

// SARIF keeps each finding's status and whole reason; a plain
// not-selected finding's message ends in the command that fixes it.
func TestSARIFReasons(t *testing.T) {
	rep := demoAudit(t)
	var buf bytes.Buffer
	if err := WriteAuditSARIF(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID     string
				Message    struct{ Text string }
				Properties map[string]any
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range log.Runs[0].Results {
		status, _ := r.Properties["status"].(string)
		reason, _ := r.Properties["reason"].(string)
		seen[status]++
		switch {
		case status == string(rules.StatusNotSelected) && reason == "not selected for fixing (--fix="+r.RuleID+")":
			if !strings.Contains(r.Message.Text, "--fix="+r.RuleID+" --yes") {
				t.Errorf("%s: not-selected without its command: %q", r.RuleID, r.Message.Text)
			}
		case status == string(rules.StatusNotSelected):
			if !strings.HasPrefix(reason, rules.NotSelected) || !strings.Contains(r.Message.Text, reason) {
				t.Errorf("%s: not-selected, reason %q, message %q", r.RuleID, reason, r.Message.Text)
			}
		case status == string(rules.StatusNeedsHuman):
			if reason == "" {
				t.Errorf("%s: needs-human without a reason", r.RuleID)
			}
		case status == string(rules.StatusSkipped):
			t.Errorf("%s: skipped in an audit that skipped nothing (%q)", r.RuleID, reason)
		}
	}
	if seen[string(rules.StatusNotSelected)] == 0 || seen[string(rules.StatusNeedsHuman)] == 0 {
		t.Errorf("statuses seen: %v", seen)
	}
}
