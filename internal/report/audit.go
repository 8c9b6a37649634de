package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// WriteAuditTable writes the audit as a table: the workloads of each
// namespace, worst first, then the namespace's own findings, then the
// cluster's score.
func WriteAuditTable(w io.Writer, rep *audit.Report, st Styles) error {
	q := termsafe.String
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tSCORE\tCRIT\tHIGH\tMED\tLOW\tTOP FINDINGS")
	for _, n := range rep.Namespaces {
		for _, wl := range n.Workloads {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", q(n.Name), q(strings.ToLower(wl.Kind)+"/"+wl.Name), wl.Score,
				wl.Pending.Critical, wl.Pending.High, wl.Pending.Medium, wl.Pending.Low, top(wl))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeUnread(w, rep.Unread, st)
	for _, n := range rep.Namespaces {
		writeNamespaceLines(w, n, "", st)
	}
	_, err := fmt.Fprintf(w, "\n%s %d/100 over %s in %s: %d critical, %d high, %d medium, %d low pending\n",
		st.Title("score"), rep.Score, Count(rep.Workloads, "workload", "workloads"), Count(len(rep.Namespaces), "namespace", "namespaces"),
		rep.Pending.Critical, rep.Pending.High, rep.Pending.Medium, rep.Pending.Low)
	if err == nil && rep.Policy != nil {
		_, err = fmt.Fprintf(w, "%s %s (sha256 %.12s)\n", st.Title("policy"), q(rep.Policy.Path), rep.Policy.SHA256)
	}
	return err
}

// writeNamespaceLines writes a namespace's score line, "namespace NS: score
// S/100, N workloads" (where, e.g. " in cluster C", after its name), and a
// line per finding of its own that is not exempted.
func writeNamespaceLines(w io.Writer, n audit.Namespace, where string, st Styles) {
	q := termsafe.String
	fmt.Fprintf(w, "\n%s %s%s: score %d/100, %d workload%s\n", st.Title("namespace"), q(n.Name), q(where), n.Score, len(n.Workloads), plural(len(n.Workloads)))
	for _, f := range n.Findings {
		if f.Status == rules.StatusExempted {
			continue
		}
		fmt.Fprintf(w, "  %s %s: %s\n", st.Severity(f.Severity, fmt.Sprintf("%-8s", f.Severity)), f.Rule, q(f.Message))
	}
}

// top names the worst pending findings' rules, or "-".
func top(wl audit.Workload) string {
	if ids := wl.TopRules(3); len(ids) > 0 {
		return strings.Join(ids, ", ")
	}
	return "-"
}

// FixCommand is the exact command that fixes these rules on one workload.
func FixCommand(namespace, kind, name string, ids []string) string {
	return fmt.Sprintf("kubectl harden %s/%s -n %s --fix=%s --yes", strings.ToLower(kind), name, namespace, strings.Join(ids, ","))
}
