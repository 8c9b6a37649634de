package rules

import "testing"

// One function decides whether a user's word selects a rule; Names is
// the narrower "names the rule itself" that opt-in fixes need.
func TestWordsSelectRules(t *testing.T) {
	m := Meta{ID: "readiness-probe", Aliases: []string{"probes"}, Category: Health}
	for _, tc := range []struct {
		word         string
		selects, nam bool
	}{
		{"readiness-probe", true, true},
		{" Readiness-Probe ", true, true},
		{"probes", true, true},
		{"health", true, false},
		{"all", true, false},
		{"*", true, false},
		{"liveness-probe", false, false},
		{"", false, false},
	} {
		if got := m.Selects(tc.word); got != tc.selects {
			t.Errorf("Selects(%q) = %v, want %v", tc.word, got, tc.selects)
		}
		if got := m.Names(tc.word); got != tc.nam {
			t.Errorf("Names(%q) = %v, want %v", tc.word, got, tc.nam)
		}
	}
	if !m.SelectedByList("pdb, probes") || m.SelectedByList("pdb,security") || m.SelectedByList("") {
		t.Errorf("SelectedByList: want pdb,probes to select %s, and pdb,security or nothing not to", m.ID)
	}
	if !m.SelectedBy([]string{"pdb", "health"}) || m.SelectedBy(nil) {
		t.Errorf("SelectedBy: want [pdb health] to select %s, and none not to", m.ID)
	}
}
