package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// sizedWorkload plans the resources fix of a Deployment whose pods were
// sampled by metrics.k8s.io, and adds a hostile planned fix, as a cluster
// could feed one through a name.
func sizedWorkload(t *testing.T) Workload {
	t.Helper()
	s := rulestest.Load(t, "../../plugins/resources/testdata/failure-limitrange.yaml")
	s.Usage = map[string]map[string]inspect.ContainerUsage{"web-1": {"web": {CPUMilli: 200, MemoryBytes: 300 << 20}}}
	results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"resources"}})
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, rules.Result{Finding: rules.Finding{Rule: "pdb", Severity: rules.Medium, Category: rules.Availability, Message: "no PodDisruptionBudget"},
		Status: rules.StatusPlanned, Fix: &rules.Fix{Description: "create PodDisruptionBudget evil\x1b[2J", Warnings: []string{"beware\x07"}}})
	return Workload{Kind: "Deployment", Namespace: "shop", Name: "web", Findings: results, Score: rules.Score(results)}
}

// The text report shows each planned fix's description — the source of
// every number — and warnings under its finding, escaped.
func TestTextShowsFixes(t *testing.T) {
	var buf bytes.Buffer
	WriteText(&buf, sizedWorkload(t), nil, NewStyles(false))
	got := buf.String()
	lines := strings.Split(got, "\n")
	for i, want := range []string{
		"container web has no requests.cpu, requests.memory",
		"            fix: set requests.cpu 240m (observed: peak 200m over 1 pod ×1.2), requests.memory 360Mi (observed: peak 300Mi over 1 pod ×1.2) of container web",
		"            warning: container web: sized from one metrics.k8s.io sample of 1 pod",
	} {
		found := -1
		for j, l := range lines {
			if strings.Contains(l, want) {
				found = j
				break
			}
		}
		if found < 0 {
			t.Fatalf("text lacks %q:\n%s", want, got)
		}
		if i > 0 && !strings.Contains(lines[found-1], "requests.cpu") && !strings.HasPrefix(strings.TrimSpace(lines[found-1]), "fix:") {
			t.Errorf("%q is not under its finding:\n%s", want, got)
		}
	}
	for _, want := range []string{"fix: set limits.memory 600Mi (observed: peak 300Mi over 1 pod, max(2× peak, peak + 128Mi)) of container web",
		`fix: create PodDisruptionBudget evil\x1b[2J`, `warning: beware\a`} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "\x1b\x07") {
		t.Error("a control character reached the terminal")
	}
}

// -o json and -o yaml carry "fix": {description, warnings} on planned
// findings, and nothing of the kind on the others.
func TestJSONAndYAMLShowFixes(t *testing.T) {
	wl := sizedWorkload(t)
	wl.Findings = append(wl.Findings, rules.Result{Finding: rules.Finding{Rule: "replicas", Severity: rules.High, Category: rules.Availability, Message: "runs 1 replica"},
		Status: rules.StatusNeedsHuman, Reason: "singleton"})
	doc := Report{APIVersion: APIVersion, Kind: Kind, Workloads: []Workload{wl}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Workloads []struct {
			Findings []struct {
				Rule, Status string
				Fix          *struct {
					Description string
					Warnings    []string
				}
			}
		}
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var descriptions []string
	for _, f := range back.Workloads[0].Findings {
		switch {
		case f.Status == "planned" && (f.Fix == nil || f.Fix.Description == ""):
			t.Errorf("planned %s without its fix: %s", f.Rule, b)
		case f.Status != "planned" && f.Fix != nil:
			t.Errorf("%s %s with a fix", f.Status, f.Rule)
		case f.Fix != nil:
			descriptions = append(descriptions, f.Fix.Description)
			if f.Rule == "resources" && (len(f.Fix.Warnings) != 1 || !strings.Contains(f.Fix.Warnings[0], "one metrics.k8s.io sample")) {
				t.Errorf("resources warnings %q", f.Fix.Warnings)
			}
		}
	}
	if all := strings.Join(descriptions, "\n"); !strings.Contains(all, "requests.cpu 240m (observed: peak 200m over 1 pod ×1.2)") ||
		!strings.Contains(all, "limits.memory 600Mi (observed:") {
		t.Errorf("descriptions %q", descriptions)
	}
	y, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	var viaYAML, viaJSON any
	if err := json.Unmarshal(fromYAML, &viaYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &viaJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaYAML, viaJSON) || !strings.Contains(string(y), "fix:\n") {
		t.Errorf("yaml differs from json:\n%s", y)
	}
}

// -o diff's header is whole "# " lines, each ending in a real newline, so
// the unified diff after it still starts with its own "--- " line: what
// each fix does and its warnings, held fixes and taken fields; control
// characters inside a line are escaped.
func TestDiffHeader(t *testing.T) {
	results := []rules.Result{
		{Finding: rules.Finding{Rule: "replicas"}, Status: rules.StatusConflict, Reason: ".spec.replicas is owned by kubectl-client-side-apply\x1b[31m"},
		{Finding: rules.Finding{Rule: "readiness-probe"}, Status: rules.StatusFixed, Fix: &rules.Fix{Description: "tcpSocket probe on port http"},
			Owners: []owners.Conflict{{Field: ".spec.template", Manager: "kubectl-edit", Class: owners.OneOff}}},
		{Finding: rules.Finding{Rule: "resources"}, Status: rules.StatusPlanned, Fix: &rules.Fix{Description: "set requests.cpu 150m (LimitRange lr defaultRequest) of container web",
			Warnings: []string{"revise\nlater"}}},
		{Finding: rules.Finding{Rule: "pdb"}, Status: rules.StatusSkipped, Fix: &rules.Fix{Description: "never shown"}},
	}
	got := DiffHeader("Deployment", "shop", "web", results)
	want := "# deployment/web -n shop: replicas not applied (conflict): .spec.replicas is owned by kubectl-client-side-apply\\x1b[31m\n" +
		"# deployment/web -n shop: readiness-probe: fix: tcpSocket probe on port http\n" +
		"# deployment/web -n shop: readiness-probe takes .spec.template from field manager kubectl-edit (one-off)\n" +
		"# deployment/web -n shop: resources: fix: set requests.cpu 150m (LimitRange lr defaultRequest) of container web\n" +
		"# deployment/web -n shop: resources: warning: revise\\nlater\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(got, "\x1b") {
		t.Error("a control character reached the terminal")
	}
}

// A planned fix in an audit's SARIF is in the result's message and its
// properties, and the log stays valid.
func TestSARIFShowsFixes(t *testing.T) {
	wl := sizedWorkload(t)
	rep := &audit.Report{APIVersion: "harden.kubectl.dev/v1alpha1", Kind: "AuditReport", Namespaces: []audit.Namespace{{Name: "shop",
		Workloads: []audit.Workload{{Kind: "Deployment", Name: "web", Findings: wl.Findings}}}}}
	var buf bytes.Buffer
	if err := WriteAuditSARIF(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if err := sariftest.Validate(buf.Bytes()); err != nil {
		t.Fatalf("invalid SARIF: %v", err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID     string
				Message    struct{ Text string }
				Properties struct {
					Fix struct {
						Description string
						Warnings    []string
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range log.Runs[0].Results {
		if r.RuleID == "resources" && strings.Contains(r.Properties.Fix.Description, "(observed: peak 300Mi over 1 pod") {
			found = strings.Contains(r.Message.Text, ". Planned fix: set ") && len(r.Properties.Fix.Warnings) == 1
		}
	}
	if !found {
		t.Errorf("no resources result with its fix:\n%s", buf.String())
	}
}
