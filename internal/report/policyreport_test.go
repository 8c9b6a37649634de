package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// policyReportAudit is a hand-made audit with one finding of each outcome:
// not-selected and needs-human (fail), exempted and --skip (skip), fixed
// (pass), on a Deployment, and a namespace rule's finding.
func policyReportAudit() *audit.Report {
	f := func(rule string, sev rules.Severity, cat rules.Category, st rules.Status, reason, container, msg string) rules.Result {
		return rules.Result{Finding: rules.Finding{Rule: rule, Severity: sev, Category: cat, Message: msg, Container: container}, Status: st, Reason: reason}
	}
	return &audit.Report{APIVersion: audit.APIVersion, Kind: audit.Kind, Namespaces: []audit.Namespace{{
		Name: "shop",
		Findings: []rules.Result{
			f("default-deny", rules.Medium, rules.Network, rules.StatusNeedsHuman, "create a default-deny NetworkPolicy once every flow is allowed", "", "no default-deny NetworkPolicy"),
		},
		Workloads: []audit.Workload{{Kind: "Deployment", Name: "web", Findings: []rules.Result{
			f("replicas", rules.High, rules.Availability, rules.StatusNotSelected, rules.NotSelected+" (--fix=replicas)", "", "1 replica: a node drain takes the service down"),
			f("run-as-non-root", rules.High, rules.Security, rules.StatusExempted, "harden.kubectl.dev/skip: run-as-non-root", "web", "container web may run as root"),
			f("capabilities", rules.Medium, rules.Security, rules.StatusSkipped, rules.SkippedByFlag, "web", "container web keeps every capability"),
			f("pdb", rules.Medium, rules.Availability, rules.StatusFixed, "", "", "no PodDisruptionBudget"),
			f("resources", rules.Medium, rules.Resources, rules.StatusNeedsHuman, "no usage observed: start from requests cpu 100m, memory 128Mi", "web", "container web has no requests"),
		}}},
	}}}
}

// TestPolicyReportGolden pins the mapping: names, labels, one result per
// finding with its outcome, severity, category, object and properties, a
// pass per rule that found nothing, the summary.
func TestPolicyReportGolden(t *testing.T) {
	now := time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)
	for _, c := range []struct {
		file string
		open bool
	}{{"testdata/policyreport.golden.yaml", false}, {"testdata/openreports.golden.yaml", true}} {
		var buf bytes.Buffer
		if err := WriteAuditPolicyReports(&buf, policyReportAudit(), c.open, now); err != nil {
			t.Fatal(err)
		}
		if os.Getenv("HARDEN_GOLDEN_UPDATE") != "" {
			if err := os.WriteFile(c.file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatalf("%v (HARDEN_GOLDEN_UPDATE=1 writes it)", err)
		}
		if buf.String() != string(want) {
			t.Errorf("%s differs (HARDEN_GOLDEN_UPDATE=1 rewrites it):\n%s", c.file, buf.String())
		}
	}
}

// TestPolicyReportMapping checks the mapping's rules on the hand-made
// audit, independently of the golden file.
func TestPolicyReportMapping(t *testing.T) {
	reps := BuildPolicyReports(policyReportAudit(), []string{"gone"}, time.Unix(100, 0), nil)
	if len(reps) != 2 || reps[0].Name != "harden-gone" || reps[1].Name != "harden-shop" || reps[1].Namespace != "shop" {
		t.Fatalf("reports: %+v", reps)
	}
	if gone := reps[0]; len(gone.Results) != 0 || gone.Summary != (PolicyReportSummary{}) || gone.Labels[ManagedByLabel] != ManagedBy {
		t.Errorf("a namespace without findings gets an empty report: %+v", gone)
	}
	byRule := map[string]PolicyReportResult{}
	for _, r := range reps[1].Results {
		if r.Source != "kubectl-harden" || r.Policy != "kubectl-harden" || len(r.Resources) != 1 || r.Timestamp.Seconds != 100 {
			t.Errorf("result %+v", r)
		}
		byRule[r.Rule] = r
	}
	for rule, want := range map[string]string{"replicas": "fail", "run-as-non-root": "skip", "capabilities": "skip", "pdb": "pass", "resources": "fail", "default-deny": "fail", "spread": "pass"} {
		if got := byRule[rule].Result; got != want {
			t.Errorf("%s: result %q, want %q", rule, got, want)
		}
	}
	rep := byRule["replicas"]
	if rep.Properties["fix"] != "kubectl harden deployment/web -n shop --fix=replicas --yes" || rep.Properties["status"] != "not-selected" || rep.Severity != "high" || rep.Category != "availability" {
		t.Errorf("replicas: %+v", rep)
	}
	if ref := rep.Resources[0]; ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != "web" || ref.Namespace != "shop" {
		t.Errorf("replicas object: %+v", ref)
	}
	if r := byRule["resources"]; r.Properties["reason"] == "" || r.Properties["fix"] != "" || r.Properties["container"] != "web" {
		t.Errorf("a needs-human finding gives its reason and no fix command: %+v", r)
	}
	if ref := byRule["default-deny"].Resources[0]; ref.Kind != "Namespace" || ref.Name != "shop" || ref.Namespace != "" {
		t.Errorf("namespace rule's object: %+v", ref)
	}
	s := reps[1].Summary
	if s.Fail != 3 || s.Skip != 2 || s.Pass != len(reps[1].Results)-5 || s.Warn != 0 || s.Error != 0 {
		t.Errorf("summary %+v of %d results", s, len(reps[1].Results))
	}
}

// TestPolicyReportDemo checks the whole demo audit: every pending finding
// is one fail, every exempted one a skip, every applicable rule without a
// finding a pass, and the openreports form carries the same JSON results.
func TestPolicyReportDemo(t *testing.T) {
	rep := demoAudit(t)
	reps := BuildPolicyReports(rep, nil, time.Unix(1, 0), nil)
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	pending, exempted, applicable := 0, 0, 0
	n := rep.Namespaces[0]
	count := func(findings []rules.Result) {
		for _, f := range findings {
			switch {
			case f.Status == rules.StatusExempted:
				exempted++
			case f.Pending():
				pending++
			}
		}
	}
	count(n.Findings)
	for _, r := range rules.NamespaceRules() {
		applicable += max(1, countRule(n.Findings, r.Meta().ID))
	}
	for _, w := range n.Workloads {
		count(w.Findings)
		for _, r := range rules.All() {
			if r.Meta().AppliesTo(w.Kind) {
				applicable += max(1, countRule(w.Findings, r.Meta().ID))
			}
		}
	}
	s := reps[0].Summary
	if s.Fail != pending || s.Skip != exempted || s.Pass+s.Fail+s.Skip != applicable || len(reps[0].Results) != applicable {
		t.Errorf("summary %+v: want %d fail, %d skip, %d results", s, pending, exempted, applicable)
	}
	if a, b := canonical(t, reps[0].Results), canonical(t, ToOpenReport(reps[0]).Results); a != b {
		t.Errorf("openreports results differ from the PolicyReport's:\n%.2000s\n%.2000s", a, b)
	}
}

// canonical is v's JSON with object keys sorted: the same document
// whatever the Go field order.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(generic)
	return string(b)
}

func countRule(findings []rules.Result, id string) int {
	n := 0
	for _, f := range findings {
		if f.Rule == id {
			n++
		}
	}
	return n
}

// TestPolicyReportKeepsTimestamps: a result found before keeps its first
// timestamp, so publishing an unchanged audit again changes nothing; a
// new or changed result gets now.
func TestPolicyReportKeepsTimestamps(t *testing.T) {
	first := BuildPolicyReports(policyReportAudit(), nil, time.Unix(100, 0), nil)[0]
	old := map[string]metav1.Timestamp{}
	for _, r := range first.Results {
		old[ResultKey(r)] = r.Timestamp
	}
	changed := policyReportAudit()
	changed.Namespaces[0].Workloads[0].Findings[0].Status = rules.StatusFixed
	again := BuildPolicyReports(changed, nil, time.Unix(200, 0), func(_ string, r PolicyReportResult) (metav1.Timestamp, bool) {
		t, ok := old[ResultKey(r)]
		return t, ok
	})[0]
	for _, r := range again.Results {
		want := int64(100)
		if r.Rule == "replicas" {
			want = 200
		}
		if r.Timestamp.Seconds != want {
			t.Errorf("%s (%s): timestamp %d, want %d", r.Rule, r.Result, r.Timestamp.Seconds, want)
		}
	}
}

// TestPolicyReportYAMLStream: -o policyreport is a stream kubectl apply
// -f takes, one document per namespace, each decoding to its kind.
func TestPolicyReportYAMLStream(t *testing.T) {
	rep := policyReportAudit()
	rep.Namespaces = append(rep.Namespaces, audit.Namespace{Name: "tea"})
	var buf bytes.Buffer
	if err := WriteAuditPolicyReports(&buf, rep, false, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(buf.String(), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents:\n%s", len(docs), buf.String())
	}
	for _, d := range docs {
		var obj map[string]any
		if err := yaml.UnmarshalStrict([]byte(d), &obj); err != nil {
			t.Fatal(err)
		}
		if obj["apiVersion"] != "wgpolicyk8s.io/v1alpha2" || obj["kind"] != "PolicyReport" {
			t.Errorf("document %v", obj)
		}
	}
}

// TestPolicyReportFits: a report over the size bound drops its pass
// results, says how many, and its summary still counts them.
func TestPolicyReportFits(t *testing.T) {
	p := BuildPolicyReports(policyReportAudit(), nil, time.Unix(1, 0), nil)[0]
	all, summary := len(p.Results), p.Summary
	fit(p, 2000)
	if len(p.Results) != summary.Fail+summary.Skip || p.Summary != summary || p.Annotations[OmittedAnnotation] != fmt.Sprint(all-len(p.Results)) {
		t.Errorf("fitted report: %d results of %d, summary %+v, annotations %v", len(p.Results), all, p.Summary, p.Annotations)
	}
	for _, r := range p.Results {
		if r.Result == ResultPass {
			t.Errorf("a pass result stays: %+v", r)
		}
	}
}
