package all

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Name stems strip the companion suffixes the registered rules declare
// (pdb: -pdb, network-policy: -harden), so that audit --fix never fixes
// at once two workloads whose companions could share a name.
func TestNameStem(t *testing.T) {
	for name, want := range map[string]string{
		"web": "web", "web-pdb": "web", "web-pdb-pdb": "web", "web-harden-pdb": "web",
		"web-api": "web-api", "-pdb": "-pdb", "pdb": "pdb", "web-pdbx": "web-pdbx",
	} {
		if got := rules.NameStem(name); got != want {
			t.Errorf("NameStem(%q) = %q, want %q", name, got, want)
		}
	}
	taken := map[string]bool{"web": true, "web-pdb": true}
	if got := rules.CompanionName("web", "-pdb", func(n string) bool { return taken[n] }); got != "web-pdb-pdb" {
		t.Errorf("CompanionName = %q, want web-pdb-pdb", got)
	}
	if got := rules.NameStem(rules.CompanionName("web", "-pdb", func(n string) bool { return taken[n] })); got != "web" {
		t.Errorf("a companion's name stems to its workload's: %q", got)
	}
}
