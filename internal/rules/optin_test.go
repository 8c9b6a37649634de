package rules_test

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// optInRule reports two findings on workloads annotated rules-test/opt-in
// (and nothing elsewhere, so the other tests of the package never see
// it): one whose fix must be named (OptIn), one ordinary.
type optInRule struct{}

const optInID = "opt-in-test"

func init() { rules.Register(optInRule{}) }

func (optInRule) Meta() rules.Meta {
	return rules.Meta{ID: optInID, Aliases: []string{"optin"}, Title: "Opt-in test", Category: rules.Security,
		Severity: rules.High, Kinds: []string{"Deployment"}, Fixable: true}
}

func (optInRule) Check(s *inspect.Snapshot) []rules.Finding {
	if s.Workload.Annotations()["rules-test/opt-in"] == "" {
		return nil
	}
	f := rules.Finding{Rule: optInID, Severity: rules.High, Category: rules.Security}
	named, ordinary := f, f
	named.Container, named.Message, named.OptIn = "a", "risky", "container a runs as root today"
	ordinary.Container, ordinary.Message = "b", "safe"
	return []rules.Finding{named, ordinary}
}

func (optInRule) Fix(s *inspect.Snapshot, f rules.Finding, _ rules.Params) (*rules.Fix, error) {
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, "fixed", "metadata", "annotations", "rules-test/"+f.Container)
	return &rules.Fix{Description: "annotate " + f.Container, Changes: []rules.Change{{Object: obj}}}, nil
}

// An opt-in finding is planned only when the rule is named by ID or alias;
// "all" and its category leave it skipped with the reason and the way to
// name it, while the rule's ordinary findings are planned either way.
func TestOptIn(t *testing.T) {
	for _, tc := range []struct {
		name            string
		sel             rules.Selection
		named, ordinary rules.Status
		reason          string
	}{
		{"all", rules.Selection{Fix: []string{"all"}}, rules.StatusSkipped, rules.StatusPlanned,
			"container a runs as root today; name it to apply: --fix=opt-in-test"},
		{"star", rules.Selection{Fix: []string{"*"}}, rules.StatusSkipped, rules.StatusPlanned, "name it to apply"},
		{"category", rules.Selection{Fix: []string{"security"}}, rules.StatusSkipped, rules.StatusPlanned, "name it to apply"},
		{"by ID", rules.Selection{Fix: []string{"all", optInID}}, rules.StatusPlanned, rules.StatusPlanned, ""},
		{"by alias, any case", rules.Selection{Fix: []string{" OptIn "}}, rules.StatusPlanned, rules.StatusPlanned, ""},
		{"named but skipped", rules.Selection{Fix: []string{optInID}, Skip: []string{"security"}}, rules.StatusSkipped, rules.StatusSkipped, "skipped by --skip"},
		{"not selected", rules.Selection{Fix: []string{"pdb"}}, rules.StatusNotSelected, rules.StatusNotSelected, "not selected for fixing: container a runs as root today; name it to apply: --fix=opt-in-test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, err := rules.Evaluate(rulestest.Load(t, "testdata/opt-in.yaml"), tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]rules.Result{}
			for _, r := range results {
				if r.Rule == optInID {
					got[r.Container] = r
				}
			}
			if a := got["a"]; a.Status != tc.named || !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("opt-in finding: %s (%q), want %s (%q)", a.Status, a.Reason, tc.named, tc.reason)
			}
			if a := got["a"]; (a.Status == rules.StatusPlanned) != (a.Fix != nil) {
				t.Errorf("opt-in finding: status %s with fix %v", a.Status, a.Fix)
			}
			if b := got["b"]; b.Status != tc.ordinary {
				t.Errorf("ordinary finding: %s (%q), want %s", b.Status, b.Reason, tc.ordinary)
			}
		})
	}
}

func TestNames(t *testing.T) {
	m := optInRule{}.Meta()
	for words, want := range map[string]bool{"opt-in-test": true, "optin": true, "OPT-IN-TEST": true, "all": false, "*": false, "security": false, "": false} {
		if got := (rules.Selection{Fix: []string{words}}).Names(m); got != want {
			t.Errorf("Names(%q) = %v, want %v", words, got, want)
		}
	}
}
