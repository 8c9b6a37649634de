package rules_test

import (
	"reflect"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// The --fix=all pass runs only for the rules that declare FixableAfter:
// on every plugin fixture, under no selection and under each rule's own,
// Evaluate gives exactly what the pass over every rule gives. A rule
// whose fix another rule's fix can make possible, but that does not say
// so, fails here.
func TestFixableAfterMatchesTheFullPass(t *testing.T) {
	sels := []rules.Selection{{}, {Fix: []string{"security"}}, {Fix: []string{"reliability"}}}
	for _, r := range rules.All() {
		sels = append(sels, rules.Selection{Fix: []string{r.Meta().ID}})
	}
	compared := 0
	for _, s := range rulestest.WorkloadFixtures(t, "../../plugins/*/testdata/failure*.yaml") {
		for _, sel := range sels {
			got, err := rules.Evaluate(s, sel)
			if err != nil {
				t.Fatal(err)
			}
			undo := rules.SetExhaustive()
			want, err := rules.Evaluate(s, sel)
			undo()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, --fix=%v: Evaluate gives\n%+v\nthe full --fix=all pass gives\n%+v", s.Workload.Ref(), sel.Fix, got, want)
			}
			compared++
		}
	}
	t.Logf("%d evaluations compared", compared)
}
