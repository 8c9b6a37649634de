package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/termsafe"
)

// validateColor checks --color: auto, always or never.
func validateColor(mode string) error {
	switch mode {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf(`--color must be "auto", "always" or "never", got %q`, mode)
}

// validateSet checks that each --set RULE.PARAM=VALUE names a rule, and
// says the whole flag and the closest rule ID when it does not:
// `--set readines-probe.path=/x: unknown rule "readines-probe" (did you
// mean readiness-probe?)`. Parameters are checked by
// rules.ValidateSelection.
func validateSet(set []string) error {
	for _, kv := range set {
		key, _, _ := strings.Cut(kv, "=")
		id, _, _ := strings.Cut(key, ".")
		if _, ok := rules.Get(id); ok {
			continue
		}
		hint := "see kubectl harden rules"
		if c := closestRule(id); c != "" {
			hint = "did you mean " + c + "?"
		}
		return fmt.Errorf("--set %s: unknown rule %q (%s)", kv, id, hint)
	}
	return nil
}

// closestRule is the rule ID nearest to word by edit distance, when it is
// near enough to be a typo (at most a third of the ID's letters, and at
// least 1, differ), else "". Ties go to the first ID in sorted order.
func closestRule(word string) string {
	var ids []string
	for _, r := range rules.All() {
		ids = append(ids, r.Meta().ID)
	}
	slices.Sort(ids)
	best, bestD := "", -1
	for _, id := range ids {
		d := editDistance(strings.ToLower(word), id)
		if d <= max(1, len(id)/3) && (bestD < 0 || d < bestD) {
			best, bestD = id, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of
// two neighbours ("pbd" → "pdb") each count 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// fixedOn is one workload's ref and its results, for unusedSets.
type fixedOn struct {
	Ref     string // "deployment/web"
	Results []rules.Result
}

// unusedSets says, one line per --set RULE.PARAM, on which workloads the
// rule plans no fix (no finding, not selected, needs a human, held back…),
// so that a parameter is never ignored silently: "--set
// readiness-probe.path: unused, readiness-probe has nothing to fix on
// deployment/web". A parameter used on every workload says nothing.
func unusedSets(set []string, workloads []fixedOn) []string {
	var out []string
	var seen []string
	for _, kv := range set {
		key, _, _ := strings.Cut(kv, "=")
		id, _, _ := strings.Cut(key, ".")
		if slices.Contains(seen, key) {
			continue
		}
		seen = append(seen, key)
		var refs []string
		for _, w := range workloads {
			if !slices.ContainsFunc(w.Results, func(r rules.Result) bool {
				return r.Rule == id && (r.Status == rules.StatusPlanned || r.Status == rules.StatusFixed)
			}) {
				refs = append(refs, w.Ref)
			}
		}
		if len(refs) > 0 {
			out = append(out, fmt.Sprintf("--set %s: unused, %s has nothing to fix on %s", key, id, strings.Join(refs, ", ")))
		}
	}
	return out
}

// printUnusedSets writes unusedSets' lines to out (stderr).
func printUnusedSets(out io.Writer, set []string, workloads []fixedOn) {
	for _, l := range unusedSets(set, workloads) {
		fmt.Fprintln(out, termsafe.String(l))
	}
}
