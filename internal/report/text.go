package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// WriteText writes one workload's findings as an aligned table, then what
// the plan changes.
func WriteText(w io.Writer, wl Workload, p *plan.Plan, st Styles) {
	q := termsafe.String
	fmt.Fprintf(w, "%s in namespace %s: score %d/100, %d finding%s\n", st.Title(strings.ToLower(wl.Kind)+"/"+q(wl.Name)), q(wl.Namespace),
		wl.Score, len(wl.Findings), plural(len(wl.Findings)))
	if len(wl.Findings) == 0 {
		fmt.Fprintln(w, "  nothing to harden")
		return
	}
	ruleW, statusW := len("RULE"), len("STATUS")
	for _, f := range wl.Findings {
		ruleW = max(ruleW, len(f.Rule))
		statusW = max(statusW, len(f.Status))
	}
	fmt.Fprintf(w, "  %-8s  %-*s  %-*s  %s\n", "SEVERITY", ruleW, "RULE", statusW, "STATUS", "FINDING")
	for _, f := range wl.Findings {
		sev := fmt.Sprintf("%-8s", f.Severity)
		status := fmt.Sprintf("%-*s", statusW, f.Status)
		line := fmt.Sprintf("  %s  %-*s  %s  %s", st.Severity(f.Severity, sev), ruleW, f.Rule, st.Status(f.Status, status), q(f.Message))
		if n := Note(f); n != "" {
			line += " — " + q(n)
		}
		if f.Status == rules.StatusPlanned || f.Status == rules.StatusFixed {
			for _, c := range f.Owners {
				line += fmt.Sprintf(" — takes %s from field manager %s (%s)", q(c.Field), q(c.Manager), c.Class)
			}
		}
		fmt.Fprintln(w, line)
		for _, l := range FixLines(f) {
			fmt.Fprintf(w, "  %*s  %s\n", len("SEVERITY"), "", l)
		}
	}
	for _, warning := range wl.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", q(warning))
	}
	if p == nil || p.Empty() {
		return
	}
	verb := "will change"
	if wl.Applied {
		verb = "changed"
	}
	var objs []string
	for _, o := range p.Objects {
		action := ""
		if o.Create {
			action = " (new)"
		}
		objs = append(objs, q(o.Ref())+action)
	}
	fmt.Fprintf(w, "  %s: %s\n", verb, strings.Join(objs, ", "))
	if wl.Rollout != "" {
		fmt.Fprintf(w, "  rollout: %s\n", q(wl.Rollout))
	}
}

// Note is the part of a finding's reason worth showing beside its status
// in text, Markdown and JUnit (JSON, YAML and SARIF keep the whole
// reason): the reason, except that a not-selected finding drops the
// "not selected for fixing" its status already says, and says nothing
// when only "(--fix=ID)" is left (the closing hint or the fix command
// names the rule).
func Note(f rules.Result) string {
	if f.Status != rules.StatusNotSelected {
		return f.Reason
	}
	rest := strings.TrimPrefix(f.Reason, rules.NotSelected)
	if rest == " (--fix="+f.Rule+")" {
		return ""
	}
	return strings.TrimPrefix(rest, ": ")
}

// FixLines are what a planned or applied fix does and what to watch for,
// escaped for a terminal: "fix: DESCRIPTION" then one "warning: …" per
// warning; none for a result without a fix.
func FixLines(f rules.Result) []string {
	if f.Fix == nil || (f.Status != rules.StatusPlanned && f.Status != rules.StatusFixed) {
		return nil
	}
	var out []string
	if f.Fix.Description != "" {
		out = append(out, "fix: "+termsafe.String(f.Fix.Description))
	}
	for _, w := range f.Fix.Warnings {
		out = append(out, "warning: "+termsafe.String(w))
	}
	return out
}

// Count is n with its noun, singular or plural: "1 finding", "0
// findings", "3 fixes".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// RenderDiff escapes a unified diff for the terminal and colours it:
// additions green, removals red, hunk headers cyan.
func RenderDiff(diff string, st Styles) string {
	lines := strings.SplitAfter(diff, "\n")
	for i, l := range lines {
		body := termsafe.String(strings.TrimSuffix(l, "\n"))
		nl := "\n"
		if !strings.HasSuffix(l, "\n") {
			nl = ""
		}
		lines[i] = body + nl
		if !st.on {
			continue
		}
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			lines[i] = st.render(st.header, body) + nl
		case strings.HasPrefix(l, "+"):
			lines[i] = st.render(st.added, body) + nl
		case strings.HasPrefix(l, "-"):
			lines[i] = st.render(st.removed, body) + nl
		case strings.HasPrefix(l, "@@"):
			lines[i] = st.render(st.hunk, body) + nl
		}
	}
	return strings.Join(lines, "")
}
