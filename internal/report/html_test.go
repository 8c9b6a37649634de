package report

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// renderHTML renders the report as -o html does, at a fixed time.
func renderHTML(t *testing.T, opt HTMLOptions, reps ...*audit.Report) string {
	t.Helper()
	if opt.Generated.IsZero() {
		opt.Generated = time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)
	}
	var buf bytes.Buffer
	if err := WriteAuditHTMLFleet(&buf, reps, opt); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The demo shop's page: counts, order, commands, rule texts, and nothing
// from the cluster as markup.
func TestAuditHTML(t *testing.T) {
	rep := demoAudit(t)
	rep.Unread = []inspect.Unread{{Resource: "nodes", Verb: "list", Reason: inspect.ReasonForbidden}}
	out := renderHTML(t, HTMLOptions{Context: `ctx"><script>alert(2)</script>`, Version: "v9.9.9"}, rep)
	n := rep.Namespaces[0]

	for _, want := range []string{
		"<!DOCTYPE html>",
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'`,
		`<span class="cluster-score" data-score="` + strconv.Itoa(rep.Score) + `">`,
		`<span class="workload-count" data-count="5">5</span> workloads`,
		`<time id="generated" datetime="2026-11-30T01:02:03Z">2026-11-30 01:02:03 UTC</time>`,
		`<span id="version">v9.9.9</span>`,
		// The hostile message and context are text, not markup.
		"evil | `rm -rf` &lt;script&gt;alert(1)&lt;/script&gt; *bold* [link](x)\nsecond line",
		`ctx&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;`,
		"<h3>Could not read</h3>",
		html.EscapeString(inspect.Unread{Resource: "nodes", Verb: "list", Reason: inspect.ReasonForbidden}.String()),
		`<section class="card namespace" id="c0-n0" data-namespace="demo"`,
		"@media print",
		"@media (prefers-color-scheme: dark)",
		`body:has(#show-low:not(:checked)) .finding[data-severity="low"]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, sev := range []struct {
		name string
		n    int
	}{{"critical", rep.Pending.Critical}, {"high", rep.Pending.High}, {"medium", rep.Pending.Medium}, {"low", rep.Pending.Low}} {
		want := fmt.Sprintf(`data-severity="%s"><span class="n sev-%s" data-count="%d">`, sev.name, sev.name, sev.n)
		if !strings.Contains(out, want) {
			t.Errorf("page lacks the %s count %q", sev.name, want)
		}
	}

	// One list item per pending finding, of workloads and the namespace.
	pending := 0
	for _, f := range n.Findings {
		if f.Pending() {
			pending++
		}
	}
	for _, wl := range n.Workloads {
		for _, f := range wl.Findings {
			if f.Pending() {
				pending++
			}
		}
	}
	if got := strings.Count(out, `<li class="finding" `); got != pending || pending != rep.Pending.AtLeast(rules.Low) {
		t.Errorf("%d findings shown, %d pending, report counts %d", got, pending, rep.Pending.AtLeast(rules.Low))
	}
	// The worker's exempted spread finding is listed apart, with why.
	if !strings.Contains(out, `<span class="status">exempted</span> <code>spread</code>`) {
		t.Error("the exempted finding is not shown")
	}

	// Worst first, in the table and in the sections, each with its command.
	rows := regexp.MustCompile(`<tr class="workload-row" data-ref="([^"]+)" data-namespace="demo" data-score="(\d+)">`).FindAllStringSubmatch(out, -1)
	arts := regexp.MustCompile(`<article class="card workload" id="c0-w(\d+)" data-ref="([^"]+)"`).FindAllStringSubmatch(out, -1)
	if len(rows) != 5 || len(arts) != 5 {
		t.Fatalf("%d rows and %d sections, want 5", len(rows), len(arts))
	}
	last := -1
	for i, row := range rows {
		score, _ := strconv.Atoi(row[2])
		if score < last {
			t.Errorf("row %d (%s, %d) is better than the one before (%d)", i, row[1], score, last)
		}
		last = score
		if arts[i][2] != row[1] {
			t.Errorf("section %d is %s, row %d is %s", i, arts[i][2], i, row[1])
		}
	}
	for _, wl := range n.Workloads {
		ids := audit.FixableRules(wl)
		if len(ids) == 0 {
			continue
		}
		if cmd := html.EscapeString(FixCommand("demo", wl.Kind, wl.Name, ids)); !strings.Contains(out, `<code class="fix-command">`+cmd+`</code>`) {
			t.Errorf("page lacks the fix command %q", cmd)
		}
	}

	// Every pending rule's why and remediation, and one bar per rule.
	for _, wl := range n.Workloads {
		for _, f := range wl.Findings {
			m, _ := rules.MetaOf(f.Rule)
			if f.Pending() && !strings.Contains(out, `<dd class="why">`+htmlText(m.Why)+`</dd>`) {
				t.Errorf("page lacks the why of %s", f.Rule)
			}
		}
	}
	if got, want := strings.Count(out, `<div class="bar-row"`), len(ruleBars(rep))+1; got != want || want < 10 {
		t.Errorf("%d bars, want %d (the rules and the namespace)", got, want)
	}
}

// htmlText escapes as html/template does in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

// The page loads nothing: no script, no network resource, no import.
func TestAuditHTMLSelfContained(t *testing.T) {
	out := renderHTML(t, HTMLOptions{}, demoAudit(t))
	lower := strings.ToLower(out)
	for _, bad := range []string{"http://", "https://", "<script", "<img", "<link", "<iframe", "<object", " src=", "url(", "@import", "//cdn"} {
		if strings.Contains(lower, bad) {
			i := strings.Index(lower, bad)
			t.Errorf("page holds %q: …%s…", bad, out[max(i-80, 0):min(i+80, len(out))])
		}
	}
}

// A fleet: one section per cluster, each named, anchors unique.
func TestAuditHTMLFleet(t *testing.T) {
	east, west := demoAudit(t), demoAudit(t)
	east.Cluster, west.Cluster = "east", "west<b>"
	out := renderHTML(t, HTMLOptions{}, east, west)
	for _, want := range []string{
		`<section class="cluster" id="c0" data-cluster="east">`,
		`<h2 class="cluster-name">Cluster <code class="cluster">east</code></h2>`,
		`<section class="cluster" id="c1" data-cluster="west&lt;b&gt;">`,
		`<code class="cluster">west&lt;b&gt;</code>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(out, -1) {
		if seen[m[1]] {
			t.Errorf("id %q twice", m[1])
		}
		seen[m[1]] = true
	}
	// A single cluster's report has no cluster heading.
	if one := renderHTML(t, HTMLOptions{}, demoAudit(t)); strings.Contains(one, `class="cluster-name"`) {
		t.Error("a single cluster's page names a cluster")
	}
}
