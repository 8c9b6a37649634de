package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// The diff pane heads a fix with what it does and its warnings, for the
// planned fixes only; strings from the cluster are shown escaped, in
// every diff mode.
func TestFixNotesInTheDiffPane(t *testing.T) {
	results := []rules.Result{
		{Finding: rules.Finding{Rule: "pdb"}, Status: rules.StatusPlanned,
			Fix: &rules.Fix{Description: "create PodDisruptionBudget evil\x1b[2J", Warnings: []string{"ring\x07"}}},
		{Finding: rules.Finding{Rule: "resources"}, Status: rules.StatusNeedsHuman, Reason: "no usage data",
			Fix: &rules.Fix{Description: "not planned: never shown"}},
	}
	notes := fixNotes(results, "")
	if want := "# pdb: fix: create PodDisruptionBudget evil\\x1b[2J\n# pdb: warning: ring\\a\n"; notes != want {
		t.Fatalf("notes %q, want %q", notes, want)
	}
	if fixNotes(results, "resources") != "" {
		t.Error("a rule without a planned fix has notes")
	}
	diff := "--- a\n+++ b\n@@ -1 +1 @@\n-x: 1\n+x: 2\n"
	st := newStyles(true)
	for _, mode := range []diffMode{diffCombined, diffFocused, diffSideBySide} {
		d := newDiffPane()
		d.mode = mode
		d.resize(120, 20, st)
		d.set(notes+diff, notes+diff, st)
		view := d.vp.View()
		if strings.Contains(view, "\x1b[2J") || strings.Contains(view, "\x07") {
			t.Errorf("%s: a control character reached the terminal: %q", mode, view)
		}
		plain := ansi.Strip(view)
		if !strings.Contains(plain, `# pdb: fix: create PodDisruptionBudget evil\x1b[2J`) || !strings.Contains(plain, `# pdb: warning: ring\a`) {
			t.Errorf("%s: notes not shown:\n%s", mode, plain)
		}
	}
}
