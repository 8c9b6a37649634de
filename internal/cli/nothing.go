package cli

import (
	"slices"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// nothingToChange is the one line a run whose plans are all empty says on
// stderr, so that an empty diff or patch (or a --fix that planned
// nothing) is never silent, e.g. "nothing to change: host-path has no
// automatic fix (report only); 1 finding needs a human". It names the
// chosen rules that are report only, then counts the findings --fix chose
// (every finding without --fix) by why they stay: needing a human, held
// back (conflict), skipped, not selected.
func nothingToChange(sel rules.Selection, findings []rules.Result) string {
	if len(findings) == 0 {
		return "nothing to change: nothing to harden"
	}
	var reportOnly []string
	chosen := false
	for _, f := range findings {
		r, ok := rules.Get(f.Rule)
		if !ok || !sel.Chooses(r.Meta()) {
			continue
		}
		chosen = true
		if !r.Meta().Fixable && !slices.Contains(reportOnly, f.Rule) {
			reportOnly = append(reportOnly, f.Rule)
		}
	}
	var parts []string
	switch {
	case len(sel.Fix) > 0 && !chosen:
		parts = append(parts, "no finding of --fix="+strings.Join(sel.Fix, ","))
	case len(reportOnly) == 1:
		parts = append(parts, reportOnly[0]+" has no automatic fix (report only)")
	case len(reportOnly) > 1:
		parts = append(parts, strings.Join(reportOnly, ", ")+" have no automatic fix (report only)")
	}
	// With --fix, the findings it chose are what the user asked about.
	n := map[rules.Status]int{}
	for _, f := range findings {
		if r, ok := rules.Get(f.Rule); len(sel.Fix) == 0 || ok && sel.Chooses(r.Meta()) {
			n[f.Status]++
		}
	}
	for _, c := range []struct {
		status    rules.Status
		one, many string
	}{
		{rules.StatusNeedsHuman, "finding needs a human", "findings need a human"},
		{rules.StatusConflict, "fix held back (conflict: another field manager owns its fields)", "fixes held back (conflict: other field managers own their fields)"},
		{rules.StatusSkipped, "finding skipped", "findings skipped"},
		{rules.StatusNotSelected, "finding not selected (--fix=… chooses it)", "findings not selected (--fix=… chooses them)"},
	} {
		if n[c.status] > 0 {
			parts = append(parts, report.Count(n[c.status], c.one, c.many))
		}
	}
	if len(parts) == 0 { // exempted or fixed only
		parts = append(parts, "every finding is exempted or fixed")
	}
	return "nothing to change: " + strings.Join(parts, "; ")
}
