package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/version"
)

// htmlSource is the page: inline CSS, inline SVG bars, no script and no
// resource from the network (its Content-Security-Policy forbids both).
//
//go:embed html.tmpl
var htmlSource string

// htmlTemplate escapes by context (text, attribute, CSS, URL): every
// string from the cluster reaches the page as data, never as markup.
var htmlTemplate = template.Must(template.New("html.tmpl").Parse(htmlSource))

// HTMLOptions are what the page says beside the report itself.
type HTMLOptions struct {
	// Context is the kubeconfig context the audit read ("" when unknown);
	// a fleet's reports name their own in Report.Cluster.
	Context string
	// Generated is when the audit ran; the zero time means now.
	Generated time.Time
	// Version is harden's version; "" means this build's (internal/version).
	Version string
}

// WriteAuditHTML writes the audit as one self-contained HTML page to hand
// to people: the score and pending counts, bars per namespace and per
// rule, the workloads worst first, each finding with its severity,
// status, why and remediation, and the command that fixes each workload.
func WriteAuditHTML(w io.Writer, rep *audit.Report, opt HTMLOptions) error {
	return WriteAuditHTMLFleet(w, []*audit.Report{rep}, opt)
}

// WriteAuditHTMLFleet writes several clusters' reports (a fleet audit,
// each named by its Report.Cluster) as one page, one section each, in
// the order given.
func WriteAuditHTMLFleet(w io.Writer, reps []*audit.Report, opt HTMLOptions) error {
	if opt.Generated.IsZero() {
		opt.Generated = time.Now()
	}
	if opt.Version == "" {
		opt.Version = version.Version
	}
	page := htmlPage{
		Context:      opt.Context,
		Generated:    opt.Generated.UTC().Format("2006-01-02 15:04:05 UTC"),
		GeneratedISO: opt.Generated.UTC().Format(time.RFC3339),
		Version:      opt.Version,
		Severities:   severityNames(),
	}
	for i, rep := range reps {
		page.Clusters = append(page.Clusters, htmlClusterOf(fmt.Sprintf("c%d", i), rep))
	}
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, page); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlPage is the template's data: everything computed, nothing left to
// decide in the template but layout.
type htmlPage struct {
	Context, Generated, GeneratedISO, Version string
	// Severities are low to critical's names, worst first: the filter.
	Severities []string
	Clusters   []htmlCluster
}

// htmlCluster is one report.
type htmlCluster struct {
	ID         string // unique in the page, prefix of every anchor
	Name       string // Report.Cluster: "" for a single cluster
	Score      int
	Band       string
	Workloads  int
	Namespaces int
	Pending    []htmlCount
	Total      int // pending findings
	Unread     []string
	NSBars     []htmlBar
	RuleBars   []htmlBar
	Worst      []*htmlWorkload // every workload, worst first
	NSs        []htmlNamespace
}

// htmlCount is the pending count of one severity.
type htmlCount struct {
	Severity string
	Count    int
}

// htmlBar is one row of a chart: a label, a bar Pct (0–100) of the
// track, and the value printed beside it.
type htmlBar struct {
	Label, Href, Value, Class, Title string
	Pct                              int
}

// htmlNamespace is a namespace's score and its own findings.
type htmlNamespace struct {
	ID, Name  string
	Score     int
	Band      string
	Workloads int
	Findings  []htmlFinding
	Other     []htmlFinding // exempted or fixed
}

// htmlWorkload is one workload's row and section.
type htmlWorkload struct {
	ID, Namespace, Ref string
	Score              int
	Band               string
	Pending            audit.Counts
	Top                string
	Findings           []htmlFinding
	Other              []htmlFinding
	// Fix is the command that fixes what can be fixed, "" when nothing.
	Fix string
}

// htmlFinding is a finding as the page shows it. Why and Remediation are
// set on a rule's first finding of an object only.
type htmlFinding struct {
	Severity, Rule, Status, Message, Where string
	NoteLabel, Note                        string
	Why, Remediation                       string
}

// htmlClusterOf builds one report's view.
func htmlClusterOf(id string, rep *audit.Report) htmlCluster {
	c := htmlCluster{ID: id, Name: rep.Cluster, Score: rep.Score, Band: band(rep.Score), Workloads: rep.Workloads,
		Namespaces: len(rep.Namespaces), Total: rep.Pending.AtLeast(rules.Low)}
	c.Pending = []htmlCount{{"critical", rep.Pending.Critical}, {"high", rep.Pending.High}, {"medium", rep.Pending.Medium}, {"low", rep.Pending.Low}}
	for _, u := range rep.Unread {
		c.Unread = append(c.Unread, u.String())
	}
	for i, n := range rep.Namespaces {
		ns := htmlNamespace{ID: fmt.Sprintf("%s-n%d", id, i), Name: n.Name, Score: n.Score, Band: band(n.Score), Workloads: len(n.Workloads)}
		ns.Findings, ns.Other = htmlFindings(n.Findings)
		c.NSs = append(c.NSs, ns)
		c.NSBars = append(c.NSBars, htmlBar{Label: n.Name, Href: "#" + ns.ID, Pct: n.Score, Value: fmt.Sprintf("%d", n.Score), Class: "band-" + ns.Band,
			Title: fmt.Sprintf("namespace %s: score %d/100, %s", n.Name, n.Score, Count(len(n.Workloads), "workload", "workloads"))})
		for _, wl := range n.Workloads {
			hw := &htmlWorkload{Namespace: n.Name, Ref: ref(wl), Score: wl.Score, Band: band(wl.Score), Pending: wl.Pending, Top: top(wl)}
			hw.Findings, hw.Other = htmlFindings(wl.Findings)
			if ids := audit.FixableRules(wl); len(ids) > 0 {
				hw.Fix = FixCommand(n.Name, wl.Kind, wl.Name, ids)
			}
			c.Worst = append(c.Worst, hw)
		}
	}
	// Worst first across namespaces; a tie keeps the namespace's order.
	sort.SliceStable(c.Worst, func(i, j int) bool { return c.Worst[i].Score < c.Worst[j].Score })
	for i, wl := range c.Worst {
		wl.ID = fmt.Sprintf("%s-w%d", id, i)
	}
	c.RuleBars = ruleBars(rep)
	return c
}

// htmlFindings splits findings into the pending ones (neither fixed nor
// exempted), with each rule's why and remediation at its first, and the
// others.
func htmlFindings(results []rules.Result) (pending, other []htmlFinding) {
	explained := map[string]bool{}
	for _, f := range results {
		h := htmlFinding{Severity: f.Severity.String(), Rule: f.Rule, Status: string(f.Status), Message: f.Message, Where: where(f)}
		if !f.Pending() {
			h.Note = f.Reason
			other = append(other, h)
			continue
		}
		if m, ok := rules.MetaOf(f.Rule); ok && !explained[f.Rule] {
			explained[f.Rule] = true
			h.Why, h.Remediation = m.Why, m.Remediation
		}
		switch n := Note(f); {
		case n == "" || n == f.Message:
		case f.Status == rules.StatusNeedsHuman:
			h.NoteLabel, h.Note = "needs a human", n
		default:
			h.NoteLabel, h.Note = string(f.Status), n
		}
		pending = append(pending, h)
	}
	return pending, other
}

// where names the container and field of a finding, e.g. "container web,
// spec.replicas"; "" for neither.
func where(f rules.Result) string {
	var parts []string
	if f.Container != "" {
		parts = append(parts, "container "+f.Container)
	}
	if f.Field != "" {
		parts = append(parts, f.Field)
	}
	return strings.Join(parts, ", ")
}

// ruleBars are the rules with pending findings, the costliest first (the
// sum of their findings' score weights): each bar is the share of the
// objects (workloads and namespaces) the rule finds something on.
func ruleBars(rep *audit.Report) []htmlBar {
	type tally struct {
		findings, objects, penalty int
		worst                      rules.Severity
	}
	by := map[string]*tally{}
	objects := 0
	count := func(results []rules.Result) {
		seen := map[string]bool{}
		for _, f := range results {
			if !f.Pending() {
				continue
			}
			t := by[f.Rule]
			if t == nil {
				t = &tally{}
				by[f.Rule] = t
			}
			t.findings++
			t.penalty += rules.Weights[f.Severity]
			t.worst = max(t.worst, f.Severity)
			if !seen[f.Rule] {
				seen[f.Rule] = true
				t.objects++
			}
		}
	}
	for _, n := range rep.Namespaces {
		if len(n.Findings) > 0 {
			objects++
			count(n.Findings)
		}
		for _, wl := range n.Workloads {
			objects++
			count(wl.Findings)
		}
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := by[ids[i]], by[ids[j]]
		if a.penalty != b.penalty {
			return a.penalty > b.penalty
		}
		return ids[i] < ids[j]
	})
	bars := make([]htmlBar, 0, len(ids))
	for _, id := range ids {
		t := by[id]
		bars = append(bars, htmlBar{Label: id, Pct: t.objects * 100 / max(objects, 1), Class: "sev-" + t.worst.String(),
			Value: fmt.Sprintf("%d/%d", t.objects, objects),
			Title: fmt.Sprintf("%s: %s on %d of %d objects, worst %s", id, Count(t.findings, "pending finding", "pending findings"), t.objects, objects, t.worst)})
	}
	return bars
}

// band names a score's range: good from 80, fair from 50, poor below.
func band(score int) string {
	switch {
	case score >= 80:
		return "good"
	case score >= 50:
		return "fair"
	default:
		return "poor"
	}
}

// severityNames are the severities, worst first.
func severityNames() []string {
	return []string{rules.Critical.String(), rules.High.String(), rules.Medium.String(), rules.Low.String()}
}
