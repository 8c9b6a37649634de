package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestAuditMarkdown(t *testing.T) {
	rep := demoAudit(t)
	var buf bytes.Buffer
	if err := WriteAuditMarkdown(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# kubectl harden audit\n",
		"**Score ",
		"## Namespace demo — score ",
		"| Workload | Score | Critical | High | Medium | Low | Top findings |",
		"### The namespace itself",
		"`default-deny`",
		"### deployment/web — score ",
		"  - why: ",
		"  - remediation: ",
		"kubectl harden deployment/web -n demo --fix=",
		// The hostile message is inert: no cell break, code span or tag.
		"evil \\| \\`rm -rf\\` &lt;script&gt;alert(1)&lt;/script&gt; \\*bold\\* \\[link\\](x) second line",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("HTML from the cluster reaches the report")
	}
	// Worst first: the table's scores never go down.
	last := -1
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| ") || len(cells) < 2 || cells[1] == "Score" || cells[1] == "---:" {
			continue
		}
		var score int
		if _, err := fmt.Sscan(cells[1], &score); err != nil {
			t.Fatalf("row %q: %v", line, err)
		}
		if score < last {
			t.Errorf("table not sorted worst first at %q", line)
		}
		last = score
	}
	if last < 0 {
		t.Error("no table rows")
	}
}

func TestMarkdownEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":            `a\|b`,
		"`x`":            "\\`x\\`",
		"<b>&":           "&lt;b&gt;&amp;",
		"line\nbreak":    "line break",
		"\x1b[31mred":    `\u001b\[31mred`,
		"plain text 1.2": "plain text 1.2",
	} {
		if got := md(in); got != want {
			t.Errorf("md(%q) = %q, want %q", in, got, want)
		}
	}
}
