package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// WriteAuditMarkdown writes the audit as a GitHub-flavoured Markdown report
// to paste in a ticket: the cluster's score, the reads the API server
// refused ("Could not read", when any), then per namespace a table of
// its workloads (worst first, as the audit sorts them), the namespace's own
// findings, and per workload its pending findings with why, remediation
// and the command that fixes what can be fixed.
func WriteAuditMarkdown(w io.Writer, rep *audit.Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# kubectl harden audit\n\n")
	writeMarkdownBody(b, rep, "#")
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// writeMarkdownBody writes one report's score line and sections; its
// section headings are one level under level ("#" for one cluster, "##"
// under a fleet's cluster heading).
func writeMarkdownBody(b *strings.Builder, rep *audit.Report, level string) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	h2, h3 := level+"#", level+"##"
	p("**Score %d/100** over %d workload%s in %d namespace%s: %d critical, %d high, %d medium, %d low pending.\n\n",
		rep.Score, rep.Workloads, plural(rep.Workloads), len(rep.Namespaces), plural(len(rep.Namespaces)),
		rep.Pending.Critical, rep.Pending.High, rep.Pending.Medium, rep.Pending.Low)
	if rep.Policy != nil {
		p("Policy file: %s (sha256 `%s`).\n\n", md(rep.Policy.Path), rep.Policy.SHA256)
	}
	if len(rep.Unread) > 0 {
		// Before the scores it qualifies: what the audit could not know.
		p("%s Could not read\n\n", h2)
		p("The API server refused these reads; the findings that depend on them say so.\n\n")
		for _, u := range rep.Unread {
			p("- %s\n", md(u.String()))
		}
		p("\n")
	}
	for _, n := range rep.Namespaces {
		p("%s Namespace %s — score %d/100\n\n", h2, md(n.Name), n.Score)
		if len(n.Workloads) > 0 {
			p("| Workload | Score | Critical | High | Medium | Low | Top findings |\n")
			p("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
			for _, wl := range n.Workloads {
				p("| %s | %d | %d | %d | %d | %d | %s |\n", md(ref(wl)), wl.Score,
					wl.Pending.Critical, wl.Pending.High, wl.Pending.Medium, wl.Pending.Low, md(top(wl)))
			}
			p("\n")
		}
		if lines := findingLines(n.Findings); len(lines) > 0 {
			p("%s The namespace itself\n\n%s\n", h3, strings.Join(lines, ""))
		}
		for _, wl := range n.Workloads {
			lines := findingLines(wl.Findings)
			if len(lines) == 0 {
				continue
			}
			p("%s %s — score %d/100\n\n%s", h3, md(ref(wl)), wl.Score, strings.Join(lines, ""))
			if ids := audit.FixableRules(wl); len(ids) > 0 {
				p("\nFix what can be fixed automatically (dry-run first with `-o diff`, without `--yes`):\n\n```sh\n%s\n```\n", FixCommand(n.Name, wl.Kind, wl.Name, ids))
			}
			p("\n")
		}
	}
}

// findingLines lists the pending findings as Markdown list items.
func findingLines(findings []rules.Result) []string {
	var out []string
	explained := map[string]bool{}
	for _, f := range findings {
		if !f.Pending() {
			continue
		}
		line := fmt.Sprintf("- **%s** `%s`: %s\n", f.Severity, f.Rule, md(f.Message))
		// A rule's why and remediation once per object, at its worst finding.
		if m, ok := rules.MetaOf(f.Rule); ok && !explained[f.Rule] {
			explained[f.Rule] = true
			line += fmt.Sprintf("  - why: %s\n  - remediation: %s\n", md(m.Why), md(m.Remediation))
		}
		switch n := Note(f); {
		case n == "" || n == f.Message:
		case f.Status == rules.StatusNeedsHuman:
			line += "  - needs a human: " + md(n) + "\n"
		default:
			line += "  - " + string(f.Status) + ": " + md(n) + "\n"
		}
		out = append(out, line)
	}
	return out
}

func ref(wl audit.Workload) string { return strings.ToLower(wl.Kind) + "/" + wl.Name }

// md makes a string from the cluster inert in Markdown: no table cell
// break (|), no code span (`), no HTML, no emphasis or link syntax, one
// line. Rule IDs and Kubernetes names (DNS labels) need none of it, which
// is why they are safe in the fix commands' code blocks.
func md(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		case '\\', '`', '|', '*', '_', '[', ']', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, "\\u%04x", r)
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
