package report

import (
	"fmt"
	"io"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// writeUnread writes, once for the whole audit, one line per read the API
// server refused, e.g. "unread: zones unknown: nodes cannot be listed
// (forbidden)"; nothing when every read was made.
func writeUnread(w io.Writer, unread []inspect.Unread, st Styles) {
	if len(unread) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, u := range unread {
		fmt.Fprintf(w, "%s %s\n", st.Title("unread"), termsafe.String(u.String()))
	}
}
