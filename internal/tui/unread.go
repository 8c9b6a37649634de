package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// unreadLine is the header's line for the reads the API server refused,
// e.g. "unread: nodes, priorityclasses, rolebindings (-o text lists them)",
// each resource once, escaped; the names are cut ("…") to fit width cells
// before the hint is. "" when every read was made. where names the output
// that lists each one with what it leaves unknown.
func unreadLine(st styles, unread []inspect.Unread, where string, width int) string {
	if len(unread) == 0 {
		return ""
	}
	var names []string
	for _, u := range unread {
		if !slices.Contains(names, u.Resource) { // a resource both listed and read: once
			names = append(names, u.Resource)
		}
	}
	head, tail := "unread: ", " ("+where+" lists them)"
	// The names give way first: the hint says where to read them all.
	list := ansi.Truncate(termsafe.String(strings.Join(names, ", ")), max(width-len(head)-len(tail), 1), "…")
	return ansi.Truncate(st.warn.Render(head)+list+st.subtle.Render(tail), width, "…")
}

// zonesUnknown reports whether nodes could not be read: then no pod's zone
// is known, which is not the same as a node without the zone label.
func zonesUnknown(unread []inspect.Unread) bool {
	_, ok := inspect.FindUnread(unread, inspect.ResNodes)
	return ok
}
