package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// --fix and --skip complete "all", categories, IDs and aliases, each once,
// and continue a comma-separated list without a space.
func TestRuleCompletion(t *testing.T) {
	words := func(toComplete string) []string {
		got, directive := ruleCompletion(nil, nil, toComplete)
		if directive != cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace {
			t.Errorf("%q: directive %v", toComplete, directive)
		}
		var out []string
		for _, c := range got {
			w, _, _ := strings.Cut(c, "\t")
			out = append(out, w)
		}
		return out
	}
	all := words("")
	for _, want := range []string{"all", "security", "availability", "health", "pdb", "run-as-non-root", "probes", "resources", "rollout"} {
		if !slices.Contains(all, want) {
			t.Errorf("--fix= lacks %s: %q", want, all)
		}
	}
	for _, w := range all {
		if n := strings.Count(","+strings.Join(all, ",")+",", ","+w+","); n != 1 {
			t.Errorf("%s offered %d times", w, n)
		}
	}
	for toComplete, want := range map[string][]string{
		"pro":              {"probes"},
		"pdb,pro":          {"pdb,probes"},
		"PDB,Repl":         {"PDB,replicas"},
		"pdb,replicas,pd":  nil, // pdb is already in the list
		"security,run-as-": {"security,run-as-non-root"},
		"nothing":          nil,
	} {
		if got := words(toComplete); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", toComplete, got, want)
		}
	}
	// Each word comes with what it selects.
	got, _ := ruleCompletion(nil, nil, "probe")
	if len(got) != 1 || !strings.Contains(got[0], "\talias: liveness-probe, readiness-probe, startup-probe") {
		t.Errorf("probes: %q", got)
	}
}
