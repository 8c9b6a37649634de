package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// A fleet audit reads several clusters (kubeconfig contexts) and prints one
// report: every format carries the cluster of each line, result or suite,
// and a cluster that could not be audited is reported in its place
// without hiding the others. Each renderer below is a loop over the
// clusters around the single-cluster renderer's own parts.

// FleetListKind is the kind of a fleet audit's -o json|yaml document: a
// list of AuditReports (apiVersion audit.APIVersion), one per cluster.
const FleetListKind = "AuditReportList"

// FleetItem is one cluster of a fleet audit: its report, or why it has
// none.
type FleetItem struct {
	// Cluster is the kubeconfig context the cluster was read through.
	Cluster string
	// Report is the cluster's audit, its Cluster field set; nil when Error
	// is set.
	Report *audit.Report
	// Error says, on one line, why the cluster could not be audited, e.g.
	// "cannot reach the Kubernetes API server at https://127.0.0.1:1:
	// connection refused …" or a forbidden LIST.
	Error string
}

// Failed reports whether the cluster could not be audited.
func (it FleetItem) Failed() bool { return it.Report == nil }

// fleetItemJSON is an item as JSON: an AuditReport, with error set (and
// no score, workloads or namespaces) when the cluster was not audited.
type fleetItemJSON struct {
	audit.Report
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes the item as an AuditReport with its cluster set, or
// {apiVersion, kind, cluster, error} for a cluster not audited: a score of
// 0 or an empty namespace list would read as a result.
func (it FleetItem) MarshalJSON() ([]byte, error) {
	if it.Failed() {
		return json.Marshal(struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Cluster    string `json:"cluster"`
			Error      string `json:"error"`
		}{audit.APIVersion, audit.Kind, it.Cluster, it.Error})
	}
	rep := *it.Report
	rep.Cluster = it.Cluster
	return json.Marshal(&rep)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (it *FleetItem) UnmarshalJSON(b []byte) error {
	var v fleetItemJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*it = FleetItem{Cluster: v.Cluster, Error: v.Error}
	if v.Error == "" {
		it.Report = &v.Report
	}
	return nil
}

// FleetSummary adds up the clusters of a fleet audit.
type FleetSummary struct {
	// Clusters counts the clusters named; Audited those that were read.
	Clusters int `json:"clusters"`
	Audited  int `json:"audited"`
	// Failed names the clusters that could not be audited.
	Failed []string `json:"failed,omitempty"`
	// Score is the mean of the audited clusters' scores weighted by their
	// workloads (at least 1 each), as a cluster's score weighs its
	// namespaces; 0 when no cluster was audited.
	Score     int          `json:"score"`
	Workloads int          `json:"workloads"`
	Pending   audit.Counts `json:"pending"`
}

// FleetReport is the -o json|yaml document of a fleet audit.
type FleetReport struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Summary    FleetSummary `json:"summary"`
	Items      []FleetItem  `json:"items"`
}

// NewFleetReport is the document of the items, in their order, with its
// summary.
func NewFleetReport(items []FleetItem) *FleetReport {
	return &FleetReport{APIVersion: audit.APIVersion, Kind: FleetListKind, Summary: Summarize(items), Items: items}
}

// Summarize adds up the items: clusters audited and failed, workloads,
// pending findings by severity, and the fleet's score (see FleetSummary).
func Summarize(items []FleetItem) FleetSummary {
	s := FleetSummary{Clusters: len(items)}
	total, weighted := 0, 0
	for _, it := range items {
		if it.Failed() {
			s.Failed = append(s.Failed, it.Cluster)
			continue
		}
		r := it.Report
		s.Audited++
		s.Workloads += r.Workloads
		s.Pending.Critical += r.Pending.Critical
		s.Pending.High += r.Pending.High
		s.Pending.Medium += r.Pending.Medium
		s.Pending.Low += r.Pending.Low
		weight := max(r.Workloads, 1)
		total += weight
		weighted += r.Score * weight
	}
	if total > 0 {
		s.Score = (weighted + total/2) / total
	}
	return s
}

// WriteFleetJSON writes the fleet's document as indented JSON.
func WriteFleetJSON(w io.Writer, items []FleetItem) error {
	b, err := json.MarshalIndent(NewFleetReport(items), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteFleetTable writes the fleet as one table with a CLUSTER column
// first, then per cluster its unread lines, its namespaces' lines and its
// score line, each naming the cluster; a cluster not audited gets the
// line "cluster C: not audited: ERROR"; the fleet's score ends it.
func WriteFleetTable(w io.Writer, items []FleetItem, st Styles) error {
	q := termsafe.String
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tNAMESPACE\tWORKLOAD\tSCORE\tCRIT\tHIGH\tMED\tLOW\tTOP FINDINGS")
	for _, it := range items {
		if it.Failed() {
			continue
		}
		for _, n := range it.Report.Namespaces {
			for _, wl := range n.Workloads {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", q(it.Cluster), q(n.Name), q(ref(wl)), wl.Score,
					wl.Pending.Critical, wl.Pending.High, wl.Pending.Medium, wl.Pending.Low, top(wl))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, it := range items {
		if it.Failed() {
			fmt.Fprintf(w, "\n%s %s: not audited: %s\n", st.Title("cluster"), q(it.Cluster), q(it.Error))
			continue
		}
		if len(it.Report.Unread) > 0 {
			fmt.Fprintln(w)
		}
		for _, u := range it.Report.Unread {
			fmt.Fprintf(w, "%s in cluster %s: %s\n", st.Title("unread"), q(it.Cluster), q(u.String()))
		}
		for _, n := range it.Report.Namespaces {
			writeNamespaceLines(w, n, " in cluster "+it.Cluster, st)
		}
	}
	fmt.Fprintln(w)
	for _, it := range items {
		if it.Failed() {
			fmt.Fprintf(w, "%s %s: not audited\n", st.Title("cluster"), q(it.Cluster))
			continue
		}
		r := it.Report
		fmt.Fprintf(w, "%s %s: score %d/100 over %s in %s: %d critical, %d high, %d medium, %d low pending\n",
			st.Title("cluster"), q(it.Cluster), r.Score, Count(r.Workloads, "workload", "workloads"), Count(len(r.Namespaces), "namespace", "namespaces"),
			r.Pending.Critical, r.Pending.High, r.Pending.Medium, r.Pending.Low)
	}
	s := Summarize(items)
	_, err := fmt.Fprintf(w, "%s %d/100 over %s in %d of %s: %d critical, %d high, %d medium, %d low pending%s\n",
		st.Title("fleet score"), s.Score, Count(s.Workloads, "workload", "workloads"), s.Audited, Count(s.Clusters, "cluster", "clusters"),
		s.Pending.Critical, s.Pending.High, s.Pending.Medium, s.Pending.Low, notAudited(s.Failed))
	return err
}

// notAudited is "; not audited: a, b" naming the failed clusters, or "".
func notAudited(failed []string) string {
	if len(failed) == 0 {
		return ""
	}
	return "; not audited: " + termsafe.String(strings.Join(failed, ", "))
}

// sarifAutomation is a run's runAutomationDetails: its id "CATEGORY/"
// (the trailing slash: a category, no run id) is what GitHub code scanning
// files the run's alerts under, so each cluster keeps its own alerts.
type sarifAutomation struct {
	ID          string    `json:"id"`
	Description sarifText `json:"description"`
}

// FleetSARIFCategory is the automationDetails.id of a cluster's run:
// "kubectl-harden/CONTEXT/".
func FleetSARIFCategory(cluster string) string { return "kubectl-harden/" + cluster + "/" }

// WriteFleetSARIF writes one SARIF 2.1.0 log with one run per cluster, in
// the items' order: each run is that cluster's single-cluster run (see
// WriteAuditSARIF), named by automationDetails (FleetSARIFCategory) and
// properties.cluster. A cluster not audited is a run with no result whose
// invocation did not succeed, its error an error notification.
func WriteFleetSARIF(w io.Writer, items []FleetItem) error {
	runs := make([]sarifRun, 0, len(items))
	for _, it := range items {
		var run sarifRun
		if it.Failed() {
			driver, _ := sarifDriverOf()
			run = sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}, Invocations: []sarifInvocation{{
				ExecutionSuccessful: false,
				ToolExecutionNotifications: []sarifNotification{{Level: "error",
					Message: sarifText{Text: "cluster " + it.Cluster + " not audited: " + it.Error}}},
			}}}
		} else {
			var err error
			if run, err = sarifRunOf(it.Report); err != nil {
				return fmt.Errorf("cluster %s: %w", it.Cluster, err)
			}
		}
		run.AutomationDetails = &sarifAutomation{ID: FleetSARIFCategory(it.Cluster),
			Description: sarifText{Text: "kubectl harden audit of the cluster of kubeconfig context " + it.Cluster}}
		if run.Properties == nil {
			run.Properties = map[string]any{}
		}
		run.Properties["cluster"] = it.Cluster
		runs = append(runs, run)
	}
	return writeSARIF(w, runs...)
}

// WriteFleetJUnit writes one JUnit document: each cluster's suites (see
// WriteAuditJUnit) named "CLUSTER/NAMESPACE", their cases' classnames
// prefixed "CLUSTER/" too, so CI systems keep the clusters apart. A cluster
// not audited is a suite "CLUSTER" with one case "audit" in error.
func WriteFleetJUnit(w io.Writer, items []FleetItem) error {
	doc := JUnitSuites{Name: "kubectl harden audit"}
	for _, it := range items {
		if it.Failed() {
			doc.add(JUnitSuite{Name: it.Cluster, Tests: 1, Errors: 1,
				Properties: []JUnitProperty{{Name: "cluster", Value: it.Cluster}},
				Cases: []JUnitCase{{ClassName: it.Cluster, Name: "audit",
					Error: &JUnitFailure{Message: "not audited: " + it.Error, Type: "not-audited", Text: it.Error}}}})
			continue
		}
		suites := junitSuitesOf(it.Report)
		for i := range suites {
			s := &suites[i]
			s.Name = it.Cluster + "/" + s.Name
			s.Properties = append([]JUnitProperty{{Name: "cluster", Value: it.Cluster}}, s.Properties...)
			for j := range s.Cases {
				s.Cases[j].ClassName = it.Cluster + "/" + s.Cases[j].ClassName
			}
		}
		doc.add(suites...)
	}
	return writeJUnit(w, doc)
}

// WriteFleetMarkdown writes the fleet as one Markdown report: the fleet's
// score and a table of the clusters first, then a section per cluster
// ("## Cluster C") holding its single-cluster report one heading level
// down, or why it was not audited.
func WriteFleetMarkdown(w io.Writer, items []FleetItem) error {
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	s := Summarize(items)
	p("# kubectl harden audit of %s\n\n", Count(s.Clusters, "cluster", "clusters"))
	p("**Fleet score %d/100** over %s in %d of %s: %d critical, %d high, %d medium, %d low pending.\n\n",
		s.Score, Count(s.Workloads, "workload", "workloads"), s.Audited, Count(s.Clusters, "cluster", "clusters"),
		s.Pending.Critical, s.Pending.High, s.Pending.Medium, s.Pending.Low)
	p("| Cluster | Score | Workloads | Namespaces | Critical | High | Medium | Low |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, it := range items {
		if it.Failed() {
			p("| %s | not audited | | | | | | |\n", md(it.Cluster))
			continue
		}
		r := it.Report
		p("| %s | %d | %d | %d | %d | %d | %d | %d |\n", md(it.Cluster), r.Score, r.Workloads, len(r.Namespaces),
			r.Pending.Critical, r.Pending.High, r.Pending.Medium, r.Pending.Low)
	}
	p("\n")
	for _, it := range items {
		p("## Cluster %s\n\n", md(it.Cluster))
		if it.Failed() {
			p("Not audited: %s\n\n", md(it.Error))
			continue
		}
		writeMarkdownBody(b, it.Report, "##")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}
