package rules

import "testing"

func TestClosest(t *testing.T) {
	ids := []string{"pdb", "readiness-probe", "replicas", "liveness-probe"}
	for word, want := range map[string]string{
		"readines-probe": "readiness-probe", // a letter missing
		"pbd":            "pdb",             // two neighbours swapped
		"REPLICAS":       "replicas",        // case
		"probes":         "",                // too far from every ID
		"livenessprobe":  "liveness-probe",
		"something-else": "",
	} {
		if got := Closest(word, ids); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
