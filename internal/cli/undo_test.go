package cli

import (
	"strings"
	"testing"
)

// undo and history without a workload: one line naming what to type,
// before anything is read or written.
func TestUndoHistoryNeedAWorkload(t *testing.T) {
	kc := closedKubeconfig(t, "one")
	for _, tc := range []struct{ cmd, want string }{
		{"undo", "error: name a workload, e.g. kubectl harden undo deploy/web\n"},
		{"history", "error: name a workload, e.g. kubectl harden history deploy/web\n"},
	} {
		code, out, errOut := execute(tc.cmd, "--kubeconfig", kc)
		if code != ExitError || out != "" || errOut != tc.want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", tc.cmd, code, out, errOut, tc.want)
		}
	}
	// A named workload is resolved in Complete: the unreachable server
	// is the error, not a missing name.
	code, _, errOut := execute("undo", "deploy/web", "--kubeconfig", kc, "--timeout=0")
	if code != ExitError || !strings.HasPrefix(errOut, "error: cannot reach the Kubernetes API server") {
		t.Errorf("undo deploy/web: exit %d, stderr %q", code, errOut)
	}
}
