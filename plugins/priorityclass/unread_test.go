package priorityclass

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// PriorityClasses that could not be listed: the rule cannot decide and
// says so (needs a human), never passes nor fixes from what it lacks.
func TestClassesUnknown(t *testing.T) {
	unread := []inspect.Unread{{Resource: inspect.ResPriorityClasses, Verb: "list", Reason: inspect.ReasonForbidden}}
	for _, c := range []struct{ file, want string }{
		{"testdata/pass-system-only.yaml", "no priorityClassName"},
		{"testdata/failure-one-class.yaml", "no priorityClassName"},
		{"testdata/failure-dangling.yaml", "priorityClassName gold: whether it exists is unknown"},
	} {
		s := rulestest.Load(t, c.file)
		s.Cluster.PriorityClasses = nil
		s.Cluster.Unread = unread
		res, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range res {
			if r.Rule != id {
				continue
			}
			n++
			if !strings.Contains(r.Message, c.want) || !strings.Contains(r.Message, "(PriorityClasses unknown: priorityclasses forbidden)") ||
				r.Status != rules.StatusNeedsHuman || r.Fix != nil {
				t.Errorf("%s: %+v", c.file, r)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d results", c.file, n)
		}
	}
}
