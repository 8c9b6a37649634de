package termsafe

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"web":                "web",
		"zone-a":             "zone-a",
		"evil\x1b[2Jname":    `evil\x1b[2Jname`,
		"bell\a":             `bell\a`,
		"line\nbreak":        `line\nbreak`,
		"ünïcode is fine":    "ünïcode is fine",
		"bad utf8 \xff here": "bad utf8 \ufffd here",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}
