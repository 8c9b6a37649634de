package cli

import (
	"bytes"
	"strings"
	"testing"
)

// A long list is cut the way kubectl get cuts endpoints, never past its
// width unless one item alone is wider.
func TestFitList(t *testing.T) {
	ids := []string{"replicas", "pdb", "spread", "readiness-probe", "liveness-probe", "startup-probe", "rollout"}
	for _, tc := range []struct {
		items []string
		width int
		want  string
	}{
		{ids[:2], 60, "replicas,pdb"},
		{ids, 0, strings.Join(ids, ",")},
		{ids, 40, "replicas,pdb,spread + 4 more..."},
		{ids, 30, "replicas,pdb + 5 more..."},
		{ids, 5, "replicas + 6 more..."},
		{ids, len(strings.Join(ids, ",")), strings.Join(ids, ",")},
		{ids[:1], 3, "replicas"},
	} {
		got := fitList(tc.items, tc.width)
		if got != tc.want {
			t.Errorf("fitList(%d items, %d) = %q, want %q", len(tc.items), tc.width, got, tc.want)
		}
		if tc.width > 0 && len(got) > tc.width && !strings.HasPrefix(got, tc.items[0]+" + ") && got != tc.items[0] {
			t.Errorf("fitList(%d items, %d) = %q: %d columns", len(tc.items), tc.width, got, len(got))
		}
	}
	if w := cellWidth(&bytes.Buffer{}, 30); w != listWidth {
		t.Errorf("no terminal: %d columns, want %d", w, listWidth)
	}
}
