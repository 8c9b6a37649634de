package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
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
	return rules.Closest(word, ids)
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
