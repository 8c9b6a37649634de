package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
)

const refused = "cannot reach the Kubernetes API server at https://127.0.0.1:1: connection refused"

// demoFleet is three clusters: alpha and beta audited (the demo fixture;
// beta with a refused read), gamma not reachable.
func demoFleet(t *testing.T) []FleetItem {
	t.Helper()
	alpha, beta := demoAudit(t), demoAudit(t)
	beta.Unread = []inspect.Unread{{Resource: "nodes", Verb: "list", Reason: inspect.ReasonForbidden}}
	return []FleetItem{{Cluster: "alpha", Report: alpha}, {Cluster: "beta", Report: beta}, {Cluster: "gamma", Error: refused}}
}

// The fleet's score weighs each audited cluster by its workloads, as a
// cluster weighs its namespaces; failed clusters are named, not scored.
func TestSummarize(t *testing.T) {
	items := []FleetItem{
		{Cluster: "a", Report: &audit.Report{Score: 40, Workloads: 3, Pending: audit.Counts{High: 2, Low: 1}}},
		{Cluster: "b", Report: &audit.Report{Score: 80, Workloads: 1, Pending: audit.Counts{Critical: 1}}},
		{Cluster: "c", Error: refused},
		{Cluster: "d", Report: &audit.Report{Score: 100}}, // no workload: weight 1
	}
	got := Summarize(items)
	// (40·3 + 80·1 + 100·1) / 5 = 60
	want := FleetSummary{Clusters: 4, Audited: 3, Failed: []string{"c"}, Score: 60, Workloads: 4,
		Pending: audit.Counts{Critical: 1, High: 2, Low: 1}}
	if !equalJSON(t, got, want) {
		t.Errorf("summary %+v, want %+v", got, want)
	}
	if s := Summarize([]FleetItem{{Cluster: "c", Error: refused}}); s.Score != 0 || s.Audited != 0 {
		t.Errorf("no cluster audited: %+v, want score 0", s)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

// -o json and yaml: an AuditReportList whose items are AuditReports with
// their cluster, the failed one with its error and nothing that reads as a
// score; it reads back into the same items.
func TestFleetJSONAndYAML(t *testing.T) {
	items := demoFleet(t)
	var buf bytes.Buffer
	if err := WriteFleetJSON(&buf, items); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		APIVersion, Kind string
		Summary          FleetSummary
		Items            []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.APIVersion != audit.APIVersion || raw.Kind != "AuditReportList" || len(raw.Items) != 3 {
		t.Fatalf("document %s %s with %d items", raw.APIVersion, raw.Kind, len(raw.Items))
	}
	if raw.Summary.Clusters != 3 || raw.Summary.Audited != 2 || len(raw.Summary.Failed) != 1 || raw.Summary.Workloads != 10 {
		t.Errorf("summary %+v", raw.Summary)
	}
	for i, name := range []string{"alpha", "beta", "gamma"} {
		it := raw.Items[i]
		if it["cluster"] != name || it["kind"] != audit.Kind || it["apiVersion"] != audit.APIVersion {
			t.Errorf("item %d: cluster %v kind %v", i, it["cluster"], it["kind"])
		}
	}
	if _, ok := raw.Items[0]["namespaces"]; !ok || raw.Items[0]["error"] != nil {
		t.Errorf("alpha: %v", raw.Items[0])
	}
	if raw.Items[2]["error"] != refused || raw.Items[2]["score"] != nil || raw.Items[2]["namespaces"] != nil {
		t.Errorf("gamma: %v", raw.Items[2])
	}
	var back FleetReport
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Items[0].Report == nil || back.Items[0].Report.Score != items[0].Report.Score || back.Items[2].Error != refused || !back.Items[2].Failed() {
		t.Errorf("read back: %+v", back.Items)
	}
	// YAML goes through the same JSON (sigs.k8s.io/yaml, as -o yaml).
	y, err := yaml.Marshal(NewFleetReport(items))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: AuditReportList", "- apiVersion: " + audit.APIVersion, "  cluster: alpha", "  cluster: gamma"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("yaml lacks %q:\n%s", want, y)
		}
	}
	var fromYAML FleetReport
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if len(fromYAML.Items) != 3 || fromYAML.Items[2].Error != refused || fromYAML.Items[1].Report == nil || fromYAML.Items[1].Report.Cluster != "beta" {
		t.Errorf("yaml read back: %+v", fromYAML.Items)
	}
}

// The table: CLUSTER first on every row, the namespace and score lines
// name their cluster, the failed cluster has its line, the fleet's score
// ends it.
func TestFleetTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFleetTable(&buf, demoFleet(t), NewStyles(false)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(out, "\n")
	if !regexp.MustCompile(`^CLUSTER +NAMESPACE +WORKLOAD +SCORE`).MatchString(lines[0]) {
		t.Errorf("header %q", lines[0])
	}
	rows := map[string]int{}
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		rows[strings.Fields(l)[0]]++
		if strings.Fields(l)[1] != "demo" {
			t.Errorf("row %q: no namespace after the cluster", l)
		}
	}
	if rows["alpha"] != 5 || rows["beta"] != 5 || len(rows) != 2 {
		t.Errorf("rows by cluster %v, want 5 of alpha and 5 of beta", rows)
	}
	for _, want := range []string{
		"\nnamespace demo in cluster alpha: score ",
		"\nnamespace demo in cluster beta: score ",
		"\nunread in cluster beta: zones unknown: nodes cannot be listed",
		"\ncluster gamma: not audited: " + refused + "\n",
		"\ncluster alpha: score ",
		"\ncluster gamma: not audited\n",
		"\nfleet score ",
		" over 10 workloads in 2 of 3 clusters: ",
		"; not audited: gamma\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "unread in cluster alpha") {
		t.Error("alpha's report has beta's unread line")
	}
}

// SARIF: one run per cluster, valid against the schema, each run named by
// automationDetails and holding that cluster's single-cluster results; the
// failed cluster is a run whose invocation failed with an error
// notification.
func TestFleetSARIF(t *testing.T) {
	items := demoFleet(t)
	var buf bytes.Buffer
	if err := WriteFleetSARIF(&buf, items); err != nil {
		t.Fatal(err)
	}
	if err := sariftest.Validate(buf.Bytes()); err != nil {
		t.Fatalf("invalid SARIF: %v", err)
	}
	type run struct {
		AutomationDetails struct{ ID string }
		Properties        map[string]any
		Results           []json.RawMessage
		Invocations       []struct {
			ExecutionSuccessful        bool
			ToolExecutionNotifications []struct {
				Level   string
				Message struct{ Text string }
			}
		}
	}
	var log struct{ Runs []run }
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 3 {
		t.Fatalf("%d runs, want one per cluster (3)", len(log.Runs))
	}
	var single bytes.Buffer
	if err := WriteAuditSARIF(&single, items[0].Report); err != nil {
		t.Fatal(err)
	}
	var one struct{ Runs []run }
	if err := json.Unmarshal(single.Bytes(), &one); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"alpha", "beta", "gamma"} {
		r := log.Runs[i]
		if r.AutomationDetails.ID != "kubectl-harden/"+name+"/" || r.Properties["cluster"] != name {
			t.Errorf("run %d: automationDetails %q, cluster %v", i, r.AutomationDetails.ID, r.Properties["cluster"])
		}
	}
	if len(log.Runs[0].Results) == 0 || len(log.Runs[0].Results) != len(one.Runs[0].Results) {
		t.Errorf("alpha has %d results, its single-cluster SARIF %d", len(log.Runs[0].Results), len(one.Runs[0].Results))
	}
	if inv := log.Runs[1].Invocations; len(inv) != 1 || !inv[0].ExecutionSuccessful || inv[0].ToolExecutionNotifications[0].Level != "warning" {
		t.Errorf("beta's unread read: %+v", inv)
	}
	g := log.Runs[2]
	if len(g.Results) != 0 || len(g.Invocations) != 1 || g.Invocations[0].ExecutionSuccessful ||
		g.Invocations[0].ToolExecutionNotifications[0].Level != "error" ||
		g.Invocations[0].ToolExecutionNotifications[0].Message.Text != "cluster gamma not audited: "+refused {
		t.Errorf("gamma's run: %+v", g)
	}
}

// JUnit: each cluster's suites and classnames carry the cluster, the
// counts add up, the failed cluster is one case in error.
func TestFleetJUnit(t *testing.T) {
	items := demoFleet(t)
	var buf bytes.Buffer
	if err := WriteFleetJUnit(&buf, items); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	tests, failures, errs := 0, 0, 0
	for _, s := range doc.Suites {
		names = append(names, s.Name)
		tests, failures, errs = tests+s.Tests, failures+s.Failures, errs+s.Errors
		cluster, _, _ := strings.Cut(s.Name, "/")
		if len(s.Properties) == 0 || s.Properties[0] != (JUnitProperty{Name: "cluster", Value: cluster}) {
			t.Errorf("suite %s: properties %+v", s.Name, s.Properties)
		}
		for _, c := range s.Cases {
			if !strings.HasPrefix(c.ClassName, cluster+"/") && c.ClassName != cluster {
				t.Errorf("suite %s: case classname %q", s.Name, c.ClassName)
			}
		}
	}
	if strings.Join(names, ",") != "alpha/demo,beta/demo,gamma" {
		t.Errorf("suites %v", names)
	}
	if doc.Tests != tests || doc.Failures != failures || doc.Errors != 1 || errs != 1 || failures == 0 {
		t.Errorf("counts: document %d/%d/%d, suites %d/%d/%d", doc.Tests, doc.Failures, doc.Errors, tests, failures, errs)
	}
	g := doc.Suites[2].Cases
	if len(g) != 1 || g[0].Error == nil || !strings.Contains(g[0].Error.Message, refused) {
		t.Errorf("gamma: %+v", g)
	}
	var single bytes.Buffer
	if err := WriteAuditJUnit(&single, items[0].Report); err != nil {
		t.Fatal(err)
	}
	var one JUnitSuites
	if err := xml.Unmarshal(single.Bytes(), &one); err != nil {
		t.Fatal(err)
	}
	if doc.Suites[0].Tests != one.Tests || doc.Suites[0].Failures != one.Failures {
		t.Errorf("alpha/demo %d/%d, its single-cluster suite %d/%d", doc.Suites[0].Tests, doc.Suites[0].Failures, one.Tests, one.Failures)
	}
}

// Markdown: the fleet's summary and cluster table first, then a section per
// cluster with its report a level down; names from the kubeconfig are
// inert.
func TestFleetMarkdown(t *testing.T) {
	items := demoFleet(t)
	items[1].Cluster = "be|ta <b>"
	var buf bytes.Buffer
	if err := WriteFleetMarkdown(&buf, items); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	order := []string{
		"# kubectl harden audit of 3 clusters\n",
		"**Fleet score ",
		"| Cluster | Score | Workloads |",
		"| alpha | ",
		"| be\\|ta &lt;b&gt; | ",
		"| gamma | not audited |",
		"\n## Cluster alpha\n\n**Score ",
		"\n### Namespace demo — score ",
		"\n#### deployment/web — score ",
		"\n## Cluster be\\|ta &lt;b&gt;\n",
		"\n## Cluster gamma\n\nNot audited: " + refused + "\n",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("markdown lacks %q after offset %d:\n%s", want, at, out)
		}
		at += i + len(want)
	}
	if strings.Contains(out, "<b>") || strings.Contains(out, "\n## Namespace") {
		t.Errorf("raw markup, or a namespace heading at the cluster's level:\n%s", out)
	}
}
