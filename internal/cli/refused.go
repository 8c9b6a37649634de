package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// offlineIfRefused reports whether a run may plan offline when the API
// server refuses its server-side dry-run as Forbidden: only a run that
// writes nothing live (no --yes) and did not ask for the server's check
// (--dry-run=server, where the refusal is the answer asked for).
func offlineIfRefused(dryRun string, yes bool) bool {
	return dryRun == "none" && !yes
}

// refusedOnce says, once per run, that a preview's server-side dry-run was
// refused and the plan made offline: with several workloads, the first
// refusal is told and the others are the same.
type refusedOnce struct{ told bool }

// line is the warning for a dry-run refused for what ("patch
// deployments"), or "" when nothing was refused or it was already told.
func (r *refusedOnce) line(what string) string {
	if what == "" || r.told {
		return ""
	}
	r.told = true
	return refusedWarning(what)
}

// tell writes line's warning to out, if any.
func (r *refusedOnce) tell(out io.Writer, what string) {
	if msg := r.line(what); msg != "" {
		fmt.Fprintln(out, termsafe.String(msg))
	}
}

// refusedWarning is the one line saying what a refused dry-run leaves
// unchecked, e.g. for "patch deployments": "warning: the API server's
// dry-run was refused (forbidden: patch deployments): planned offline, not
// checked by admission or field ownership — a user with patch rights can
// check it with --dry-run=server".
func refusedWarning(what string) string {
	verb, _, _ := strings.Cut(what, " ")
	return fmt.Sprintf("warning: the API server's dry-run was refused (forbidden: %s): planned offline, not checked by admission or field ownership — a user with %s rights can check it with --dry-run=server", what, verb)
}
