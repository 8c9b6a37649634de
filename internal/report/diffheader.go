package report

import (
	"fmt"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// DiffHeader is -o diff's comment lines for one workload, before its
// unified diff: per planned or applied fix, what it does and where its
// numbers come from ("# deployment/web -n shop: resources: set …") and
// each of its warnings ("…: resources: warning: …"); per fix whose fields
// another manager owns, that it is held back (conflict) or what it takes
// from a one-off edit. Every line starts with "# " and ends in a newline,
// so the diff after it stays a unified diff; cluster strings are escaped.
func DiffHeader(kind, namespace, name string, results []rules.Result) string {
	var b strings.Builder
	q := termsafe.String
	ref := strings.ToLower(kind) + "/" + q(name) + " -n " + q(namespace)
	for _, f := range results {
		applies := f.Status == rules.StatusPlanned || f.Status == rules.StatusFixed
		if applies {
			for _, l := range FixLines(f) {
				fmt.Fprintf(&b, "# %s: %s: %s\n", ref, f.Rule, l)
			}
		}
		switch {
		case f.Status == rules.StatusConflict:
			fmt.Fprintf(&b, "# %s: %s not applied (conflict): %s\n", ref, f.Rule, q(f.Reason))
		case applies:
			for _, c := range f.Owners {
				fmt.Fprintf(&b, "# %s: %s takes %s from field manager %s (%s)\n", ref, f.Rule, q(c.Field), q(c.Manager), c.Class)
			}
		}
	}
	return b.String()
}
