package cli

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
)

// Explain turns an error into one clear line, naming the usual causes of
// the client errors users meet first.
func Explain(err error) string {
	if clientcmd.IsEmptyConfig(err) {
		return "no kubeconfig found: set KUBECONFIG or pass --kubeconfig (or --server)"
	}
	// A write that failed part-way, or a rollback, says what became of the
	// writes and names the undo command: its line is kept whole, not
	// replaced by the unreachable API server under it.
	var tx *apply.TxError
	var rolled *apply.RolledBackError
	if errors.As(err, &tx) || errors.As(err, &rolled) {
		return oneLine(err.Error())
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		host := uerr.URL
		if u, perr := url.Parse(uerr.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "cannot reach the Kubernetes API server at " + host + ": connection refused (is the cluster running, and is --context/--kubeconfig right?)"
		case uerr.Timeout():
			return "cannot reach the Kubernetes API server at " + host + ": timed out"
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return "cannot reach the Kubernetes API server at " + host + ": unknown host " + dnsErr.Name
		}
	}
	return oneLine(err.Error())
}

// oneLine folds a multi-line message so every error is a single line.
func oneLine(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "error: ")
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l) // no "; ;" for a blank line
		}
	}
	return strings.Join(out, "; ")
}
