package cli

import (
	"strings"
	"testing"
)

// Argument parsing never panics, and what it accepts is well formed.
func FuzzParseSelection(f *testing.F) {
	for _, seed := range []string{"readiness-probe.path=/ready", "pdb.max-unavailable=25%", "a.b=c=d", "=", ".x=1", "x.=1", "noequals"} {
		f.Add(seed, "pdb,replicas")
	}
	f.Fuzz(func(t *testing.T, set, fix string) {
		sel, err := parseSelection(strings.Split(fix, ","), nil, []string{set})
		if err != nil {
			return
		}
		for id, params := range sel.Params {
			if id == "" {
				t.Fatalf("empty rule id from %q", set)
			}
			for name := range params {
				if name == "" {
					t.Fatalf("empty parameter from %q", set)
				}
			}
		}
	})
}
