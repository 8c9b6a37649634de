package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// PolicyReports (wgpolicyk8s.io/v1alpha2, the Policy WG's format that
// Kyverno, Trivy Operator, Falco and Policy Reporter read) and Reports
// (openreports.io/v1alpha1, its successor) of an audit.
//
// One report per namespace, named ReportName(namespace), holds every
// result of that namespace: one per finding and one "pass" per rule that
// checked an object and found nothing (as JUnit's passing cases), so the
// summary says how much was checked. Its results name their object in
// `resources`: the workload, or the Namespace for the namespace rules.
//
// No ClusterPolicyReport is written: every harden rule checks a namespaced
// workload or what a namespace holds (its Pod Security labels, quotas,
// default-deny NetworkPolicy, bare pods). Those namespace results go in
// the namespace's own report, where the namespace's team (and Policy
// Reporter's namespace filter and RBAC) finds them; harden checks no
// cluster-scoped object of its own (nodes, ClusterRoles, webhooks).

// wgpolicyk8s.io/v1alpha2 has no Go module the proxy serves
// (sigs.k8s.io/wg-policy-prototypes is not a served module); the structs
// below match its CRD as Kyverno v1.19.1 ships it
// (config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml, copied in
// test/e2e/testdata/crds/), field for field and with the same JSON names.

// PolicyReportAPIVersion and PolicyReportKind identify a namespaced
// wgpolicyk8s.io PolicyReport.
const (
	PolicyReportGroup      = "wgpolicyk8s.io"
	PolicyReportAPIVersion = PolicyReportGroup + "/v1alpha2"
	PolicyReportKind       = "PolicyReport"
	OpenReportsGroup       = "openreports.io"
	OpenReportsAPIVersion  = OpenReportsGroup + "/v1alpha1"
	OpenReportsKind        = "Report"
)

// Source is the reports' and results' source, and Policy every result's
// policy: the engine and the policy set, in Policy Reporter's terms.
const (
	Source = "kubectl-harden"
	Policy = "kubectl-harden"
)

// ManagedByLabel marks the reports harden writes, so a re-publish finds
// (and replaces) its own: app.kubernetes.io/managed-by=kubectl-harden, the
// label plan sets on the companions harden creates.
const (
	ManagedByLabel = plan.ManagedByLabel
	ManagedBy      = plan.ManagedBy
)

// ReportName is the name of a namespace's report: "harden-NAMESPACE". One
// per namespace and always the same, so publishing again replaces it.
func ReportName(namespace string) string { return "harden-" + namespace }

// PolicyReport is a wgpolicyk8s.io/v1alpha2 PolicyReport.
type PolicyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Scope is the object the report is about; nil for a namespace's
	// report, as harden's are.
	Scope         *corev1.ObjectReference `json:"scope,omitempty"`
	ScopeSelector *metav1.LabelSelector   `json:"scopeSelector,omitempty"`
	Summary       PolicyReportSummary     `json:"summary,omitempty"`
	Results       []PolicyReportResult    `json:"results,omitempty"`
}

// PolicyReportSummary counts the results by outcome.
type PolicyReportSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// PolicyReportResult is one rule's outcome on one object. Its JSON is the
// same as openreports' ReportResult (whose Go names differ: Subjects,
// Description).
type PolicyReportResult struct {
	Source           string                   `json:"source"`
	Policy           string                   `json:"policy"`
	Rule             string                   `json:"rule,omitempty"`
	Resources        []corev1.ObjectReference `json:"resources,omitempty"`
	ResourceSelector *metav1.LabelSelector    `json:"resourceSelector,omitempty"`
	Message          string                   `json:"message,omitempty"`
	// Result is pass, fail, warn, error or skip.
	Result     string            `json:"result,omitempty"`
	Scored     bool              `json:"scored,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
	// Timestamp is when the result was first found (seconds and nanos,
	// both required by the CRD).
	Timestamp metav1.Timestamp `json:"timestamp,omitempty"`
	Category  string           `json:"category,omitempty"`
	// Severity is critical, high, medium, low or info.
	Severity string `json:"severity,omitempty"`
}

// Outcomes of a result.
const (
	ResultPass = "pass"
	ResultFail = "fail"
	ResultWarn = "warn"
	ResultSkip = "skip"
)

// NamespacesOf lists the namespaces the audit reported, in its order.
func NamespacesOf(rep *audit.Report) []string {
	var names []string
	for _, n := range rep.Namespaces {
		names = append(names, n.Name)
	}
	return names
}

// BuildPolicyReports makes one PolicyReport per namespace of the audit,
// and an empty one (summary zero) for each of also that the audit did not
// report (a namespace whose workloads are gone, whose old report must not
// stay stale). Every result is stamped at now (whole seconds), unless
// found is given: it returns an earlier timestamp of the same result, kept
// so an unchanged result (and report) stays as it was.
func BuildPolicyReports(rep *audit.Report, also []string, now time.Time, found func(ns string, r PolicyReportResult) (metav1.Timestamp, bool)) []*PolicyReport {
	var out []*PolicyReport
	seen := map[string]bool{}
	for _, n := range rep.Namespaces {
		seen[n.Name] = true
		out = append(out, newPolicyReport(n.Name, namespaceResults(n, now, found)))
	}
	for _, ns := range also {
		if !seen[ns] {
			seen[ns] = true
			out = append(out, newPolicyReport(ns, nil))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

func newPolicyReport(ns string, results []PolicyReportResult) *PolicyReport {
	p := &PolicyReport{
		TypeMeta:   metav1.TypeMeta{APIVersion: PolicyReportAPIVersion, Kind: PolicyReportKind},
		ObjectMeta: metav1.ObjectMeta{Name: ReportName(ns), Namespace: ns, Labels: map[string]string{ManagedByLabel: ManagedBy}},
		Summary:    SummarizeResults(results),
		Results:    results,
	}
	fit(p, MaxReportBytes)
	return p
}

// MaxReportBytes bounds a report's JSON: etcd stores an object of at most
// 1.5 MiB (its default --max-request-bytes), so a report is kept under
// 1 MiB, with room for its managedFields.
const MaxReportBytes = 1 << 20

// OmittedAnnotation says how many pass results a report too large for
// MaxReportBytes left out; its summary still counts them.
const OmittedAnnotation = "harden.kubectl.dev/omitted-pass-results"

// fit drops a report's pass results when its JSON exceeds limit bytes (a
// namespace of hundreds of workloads): the failures are what a reader
// acts on, and the summary still counts the passes.
func fit(p *PolicyReport, limit int) {
	if b, err := json.Marshal(p); err != nil || len(b) <= limit {
		return
	}
	kept := p.Results[:0:0]
	for _, r := range p.Results {
		if r.Result != ResultPass {
			kept = append(kept, r)
		}
	}
	p.Annotations = map[string]string{OmittedAnnotation: fmt.Sprint(len(p.Results) - len(kept))}
	p.Results = kept
}

// SummarizeResults counts results by outcome.
func SummarizeResults(results []PolicyReportResult) PolicyReportSummary {
	var s PolicyReportSummary
	for _, r := range results {
		switch r.Result {
		case ResultPass:
			s.Pass++
		case ResultFail:
			s.Fail++
		case ResultWarn:
			s.Warn++
		case ResultSkip:
			s.Skip++
		default:
			s.Error++
		}
	}
	return s
}

// namespaceResults are the namespace rules' results on the Namespace, then
// each workload's, the workloads by kind and name.
func namespaceResults(n audit.Namespace, now time.Time, found func(string, PolicyReportResult) (metav1.Timestamp, bool)) []PolicyReportResult {
	var out []PolicyReportResult
	nsRef := corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: n.Name}
	for _, r := range rules.NamespaceRules() {
		out = append(out, ruleResults(nsRef, r.Meta(), n.Findings, "")...)
	}
	workloads := append([]audit.Workload(nil), n.Workloads...)
	sort.SliceStable(workloads, func(i, j int) bool {
		if workloads[i].Kind != workloads[j].Kind {
			return workloads[i].Kind < workloads[j].Kind
		}
		return workloads[i].Name < workloads[j].Name
	})
	for _, w := range workloads {
		ref := corev1.ObjectReference{APIVersion: workloadAPIVersion(w.Kind), Kind: w.Kind, Namespace: n.Name, Name: w.Name}
		for _, r := range rules.All() {
			if m := r.Meta(); m.AppliesTo(w.Kind) {
				out = append(out, ruleResults(ref, m, w.Findings, FixCommand(n.Name, w.Kind, w.Name, []string{m.ID}))...)
			}
		}
	}
	stamp := metav1.Timestamp{Seconds: now.Unix()}
	for i := range out {
		out[i].Timestamp = stamp
		if found != nil {
			if t, ok := found(n.Name, out[i]); ok {
				out[i].Timestamp = t
			}
		}
	}
	return out
}

// workloadAPIVersion is the group/version of a workload kind.
func workloadAPIVersion(kind string) string {
	if k := inspect.KindOf(kind); k != nil {
		return k.GVK.GroupVersion().String()
	}
	return "apps/v1"
}

// ruleResults are one rule's results on one object: a pass when it found
// nothing, else one per finding. fix is the command that fixes the
// object's findings of m ("" for the namespace rules, which need a human).
func ruleResults(ref corev1.ObjectReference, m rules.Meta, findings []rules.Result, fix string) []PolicyReportResult {
	base := PolicyReportResult{Source: Source, Policy: Policy, Rule: m.ID, Resources: []corev1.ObjectReference{ref},
		Category: string(m.Category), Severity: m.Severity.String(), Scored: true}
	var out []PolicyReportResult
	for _, f := range findings {
		if f.Rule != m.ID {
			continue
		}
		r := base
		r.Category, r.Severity, r.Message = string(f.Category), f.Severity.String(), f.Message
		r.Result = Outcome(f)
		r.Scored = r.Result != ResultSkip
		r.Properties = map[string]string{"status": string(f.Status)}
		if n := Note(f); n != "" {
			r.Properties["reason"] = n
		}
		if f.Container != "" {
			r.Properties["container"] = f.Container
		}
		if f.Field != "" {
			r.Properties["field"] = f.Field
		}
		if m.Fixable && f.Status == rules.StatusNotSelected && fix != "" {
			r.Properties["fix"] = fix
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		r := base
		r.Result, r.Message = ResultPass, m.Title
		out = append(out, r)
	}
	return out
}

// Outcome is a finding's result: skip when exempted (an opt-out
// annotation) or left out by --skip, pass when fixed, else fail (every
// pending finding counts in the score, so none is a warn).
func Outcome(f rules.Result) string {
	switch {
	case f.Status == rules.StatusExempted, f.Status == rules.StatusSkipped && f.Reason == rules.SkippedByFlag:
		return ResultSkip
	case f.Status == rules.StatusFixed:
		return ResultPass
	}
	return ResultFail
}

// ResultKey identifies a result across publishes, for keeping its first
// timestamp: the rule, the object, the outcome, the message and the
// properties but the status and reason (a status may move between
// not-selected and conflict without the finding changing).
func ResultKey(r PolicyReportResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s", r.Policy, r.Rule, r.Result)
	for _, o := range r.Resources {
		fmt.Fprintf(&b, "|%s/%s/%s", o.Kind, o.Namespace, o.Name)
	}
	fmt.Fprintf(&b, "|%s|%s|%s", r.Properties["container"], r.Properties["field"], r.Message)
	return b.String()
}

// ToOpenReport converts a PolicyReport to an openreports.io/v1alpha1
// Report: the same results and summary under the report's source.
func ToOpenReport(p *PolicyReport) *openreports.Report {
	r := &openreports.Report{
		TypeMeta:   metav1.TypeMeta{APIVersion: OpenReportsAPIVersion, Kind: OpenReportsKind},
		ObjectMeta: p.ObjectMeta,
		Source:     Source,
		Summary: openreports.ReportSummary{Pass: p.Summary.Pass, Fail: p.Summary.Fail, Warn: p.Summary.Warn,
			Error: p.Summary.Error, Skip: p.Summary.Skip},
	}
	for _, x := range p.Results {
		r.Results = append(r.Results, openreports.ReportResult{
			Source: x.Source, Policy: x.Policy, Rule: x.Rule, Category: x.Category,
			Severity: openreports.ResultSeverity(x.Severity), Timestamp: x.Timestamp,
			Result: openreports.Result(x.Result), Scored: x.Scored, Subjects: x.Resources,
			ResourceSelector: x.ResourceSelector, Description: x.Message, Properties: x.Properties,
		})
	}
	return r
}

// WriteAuditPolicyReports writes the audit as a YAML stream (documents
// separated by ---) of PolicyReports, or with openReports of
// openreports.io Reports, that kubectl apply -f - takes; results stamped
// at now.
func WriteAuditPolicyReports(w io.Writer, rep *audit.Report, openReports bool, now time.Time) error {
	for i, p := range BuildPolicyReports(rep, nil, now, nil) {
		var obj any = p
		if openReports {
			obj = ToOpenReport(p)
		}
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
