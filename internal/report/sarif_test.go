package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// The demo shop's SARIF is valid against the official schema and has what
// GitHub code scanning requires: a location per result, rule indexes that
// point at the result's rule, unique fingerprints.
func TestAuditSARIF(t *testing.T) {
	rep := demoAudit(t)
	var buf bytes.Buffer
	if err := WriteAuditSARIF(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if err := sariftest.Validate(buf.Bytes()); err != nil {
		t.Fatalf("invalid SARIF: %v\n%s", err, buf.String())
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, Version string
					Rules         []struct {
						ID, Name             string
						DefaultConfiguration struct{ Level string }
						Help                 struct{ Text string }
						Properties           map[string]any
					}
				}
			}
			Results []struct {
				RuleID              string
				RuleIndex           int
				Level               string
				Message             struct{ Text string }
				Locations           []json.RawMessage
				PartialFingerprints map[string]string
				Suppressions        []struct{ Kind, Justification string }
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "kubectl-harden" || run.Tool.Driver.Version == "" || strings.HasPrefix(run.Tool.Driver.Version, "v") {
		t.Errorf("driver %+v", run.Tool.Driver)
	}
	if n := len(rules.All()) + len(rules.NamespaceRules()); len(run.Tool.Driver.Rules) != n {
		t.Errorf("%d rules, want %d", len(run.Tool.Driver.Rules), n)
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.Name == "" || strings.EqualFold(r.Name, r.ID) || strings.ContainsAny(r.Name, " -") {
			t.Errorf("rule %s: name %q must be a readable identifier other than the id", r.ID, r.Name)
		}
		if r.ID == "privileged" && (r.DefaultConfiguration.Level != "error" || r.Properties["security-severity"] != "9.5" || r.Properties["tags"].([]any)[0] != "security") {
			t.Errorf("rule privileged: %+v", r)
		}
		if r.ID == "readiness-probe" && (r.Name != "ReadinessProbe" || r.Properties["security-severity"] != nil || r.Help.Text == "") {
			t.Errorf("rule readiness-probe: %+v", r)
		}
	}
	want := rep.Pending.AtLeast(rules.Low)
	pending, suppressed, namespaced := 0, 0, 0
	prints := map[string]bool{}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID || len(res.Locations) == 0 {
			t.Errorf("result %+v", res)
		}
		fp := res.PartialFingerprints["kubectlHarden/v1"]
		if fp == "" || prints[fp] {
			t.Errorf("fingerprint %q missing or repeated", fp)
		}
		prints[fp] = true
		if len(res.Suppressions) > 0 {
			suppressed++
			if res.RuleID != "spread" || res.Suppressions[0].Kind != "external" || !strings.Contains(res.Suppressions[0].Justification, "harden.kubectl.dev/skip") {
				t.Errorf("suppression %+v", res)
			}
			continue
		}
		pending++
		if strings.HasPrefix(res.Message.Text, "namespace demo: ") {
			namespaced++
		}
		if res.RuleID == "privileged" && res.Level != "error" || res.RuleID == "pdb" && res.Level != "warning" {
			t.Errorf("level of %s: %s", res.RuleID, res.Level)
		}
	}
	if pending != want || suppressed != 1 || namespaced == 0 {
		t.Errorf("%d results (%d of the namespace), %d suppressed; want %d pending, 1 suppressed", pending, namespaced, suppressed, want)
	}
	// A second run over the same state gives the same fingerprints.
	var again bytes.Buffer
	if err := WriteAuditSARIF(&again, demoAudit(t)); err != nil || again.String() != buf.String() {
		t.Errorf("SARIF differs between two runs over the same state (%v)", err)
	}
}

// An invalid document fails the validator: it is not a test that cannot
// fail.
func TestSARIFValidatorRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAuditSARIF(&buf, &audit.Report{}); err != nil {
		t.Fatal(err)
	}
	if err := sariftest.Validate(buf.Bytes()); err != nil {
		t.Fatalf("empty audit: %v", err)
	}
	bad := strings.Replace(buf.String(), `"version": "2.1.0"`, `"version": "2.0.0"`, 1)
	bad = strings.Replace(bad, `"informationUri": "https://`, `"informationUri": "not a uri ://`, 1)
	if err := sariftest.Validate([]byte(bad)); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("a wrong version passes: %v", err)
	}
}
