package pdb

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// The description prints maxUnavailable as the budget holds it (a number
// unquoted, a percentage as is) and where it comes from.
func TestDescriptionSaysWhereNumbersComeFrom(t *testing.T) {
	for _, tc := range []struct {
		params rules.Params
		want   string
	}{
		{nil, `create PodDisruptionBudget web with maxUnavailable 1 (the rule's default, --set pdb.max-unavailable=N or N%)`},
		{rules.Params{"max-unavailable": "25%"}, `create PodDisruptionBudget web with maxUnavailable 25% (from --set pdb.max-unavailable)`},
		{rules.Params{"max-unavailable": "2"}, `create PodDisruptionBudget web with maxUnavailable 2 (from --set pdb.max-unavailable)`},
	} {
		s := rulestest.Load(t, "testdata/failure-missing.yaml")
		f, err := Rule{}.Fix(s, Rule{}.Check(s)[0], tc.params)
		if err != nil || !strings.HasPrefix(f.Description, tc.want) {
			t.Errorf("%v: %v, description %q, want %q", tc.params, err, f.Description, tc.want)
		}
	}
}
