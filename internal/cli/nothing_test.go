package cli

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// A run that changes nothing says why in one line: the report-only rules
// it chose, then its chosen findings by status.
func TestNothingToChange(t *testing.T) {
	res := func(rule string, st rules.Status) rules.Result {
		return rules.Result{Finding: rules.Finding{Rule: rule}, Status: st}
	}
	findings := []rules.Result{
		res("host-path", rules.StatusNeedsHuman), res("resources", rules.StatusNeedsHuman), res("resources", rules.StatusNeedsHuman),
		res("replicas", rules.StatusConflict), res("rollout", rules.StatusNotSelected), res("pdb", rules.StatusSkipped),
	}
	for _, tc := range []struct {
		name     string
		sel      rules.Selection
		findings []rules.Result
		want     string
	}{
		{"report only", rules.Selection{Fix: []string{"host-path"}}, findings,
			"nothing to change: host-path has no automatic fix (report only); 1 finding needs a human"},
		{"needs a human", rules.Selection{Fix: []string{"resources"}}, findings,
			"nothing to change: 2 findings need a human"},
		{"held back", rules.Selection{Fix: []string{"replicas"}}, findings,
			"nothing to change: 1 fix held back (conflict: another field manager owns its fields)"},
		{"no finding chosen", rules.Selection{Fix: []string{"seccomp"}}, findings,
			"nothing to change: no finding of --fix=seccomp"},
		{"no --fix (-o diff)", rules.Selection{Skip: []string{"pdb"}}, findings,
			"nothing to change: 3 findings need a human; 1 fix held back (conflict: another field manager owns its fields); 1 finding skipped; 1 finding not selected (--fix=… chooses it)"},
		{"no finding at all", rules.Selection{}, nil, "nothing to change: nothing to harden"},
		{"exempted only", rules.Selection{}, []rules.Result{res("pdb", rules.StatusExempted)},
			"nothing to change: every finding is exempted or fixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nothingToChange(tc.sel, tc.findings); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
