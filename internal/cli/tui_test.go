package cli

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/tui"
)

// The UI ends with the command line's exit code for the same state: 1
// while findings are left — after an apply, a quit or a write (which
// change nothing live) —, 0 only when none is, 130 for ctrl+c.
func TestAfterTUIExitCodes(t *testing.T) {
	applied := &apply.Outcome{Rollout: "complete"}
	for _, c := range []struct {
		name string
		out  tui.Outcome
		code int // 0: no error
		says string
	}{
		{"ctrl+c", tui.Outcome{Aborted: true}, ExitAborted, "aborted, nothing was changed"},
		{"q, findings left", tui.Outcome{Quit: true, Pending: 3}, ExitFindings, "3 findings left"},
		{"q, nothing left", tui.Outcome{Quit: true}, 0, "nothing was changed"},
		{"applied, needs-human left", tui.Outcome{Applied: applied, Rules: []string{"pdb"}, Pending: 1}, ExitFindings, "1 finding left"},
		{"applied, nothing left", tui.Outcome{Applied: applied, Rules: []string{"pdb"}}, 0, "applied pdb"},
		{"written, findings left", tui.Outcome{Written: "dir", Rules: []string{"pdb"}, Pending: 2}, ExitFindings, "2 findings left"},
	} {
		t.Run(c.name, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			o := &HardenOptions{IOStreams: streams}
			err := o.afterTUI(c.out, testWorkload(t), false)
			var code ExitCodeError
			switch {
			case c.code == 0 && err != nil:
				t.Errorf("error %v, want none (exit 0)", err)
			case c.code != 0 && (!errors.As(err, &code) || int(code) != c.code):
				t.Errorf("error %v, want exit %d", err, c.code)
			}
			if said := out.String() + errOut.String(); !strings.Contains(said, c.says) {
				t.Errorf("says %q, want %q", said, c.says)
			}
		})
	}
}
