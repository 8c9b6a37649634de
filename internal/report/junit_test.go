package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// The JUnit XML parses back, its counts add up, and it has one failing
// case per pending finding and one passing case per rule that found
// nothing.
func TestAuditJUnit(t *testing.T) {
	rep := demoAudit(t)
	var buf bytes.Buffer
	if err := WriteAuditJUnit(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), xml.Header) {
		t.Errorf("no XML header")
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "demo" {
		t.Fatalf("suites %+v", doc.Suites)
	}
	s := doc.Suites[0]
	failures, skipped, passed := 0, 0, 0
	for _, c := range s.Cases {
		switch {
		case c.Failure != nil:
			failures++
			if c.Failure.Type == "" || !strings.Contains(c.Failure.Text, "remediation: ") || !strings.Contains(c.Failure.Text, "severity: "+c.Failure.Type) {
				t.Errorf("failure %+v", c.Failure)
			}
		case c.Skipped != nil:
			skipped++
		default:
			passed++
		}
	}
	want := rep.Pending.AtLeast(rules.Low)
	if failures != want || s.Failures != want || doc.Failures != want {
		t.Errorf("failures: %d cases, suite says %d, root says %d; want %d pending findings", failures, s.Failures, doc.Failures, want)
	}
	if skipped != 1 || s.Skipped != 1 || doc.Skipped != 1 {
		t.Errorf("skipped: %d cases, %d/%d in attributes; want the worker's exempted spread", skipped, s.Skipped, doc.Skipped)
	}
	if passed == 0 || s.Tests != len(s.Cases) || doc.Tests != s.Tests || s.Tests != failures+skipped+passed {
		t.Errorf("tests: %d cases, suite says %d, root %d (%d passed)", len(s.Cases), s.Tests, doc.Tests, passed)
	}
	// The web deployment gets a case for every rule that applies to a
	// Deployment; the pdb one fails, with the fix command.
	applicable := 0
	for _, r := range rules.All() {
		if r.Meta().AppliesTo("Deployment") {
			applicable++
		}
	}
	web, pdb := map[string]bool{}, ""
	for _, c := range s.Cases {
		if c.ClassName == "demo.deployment/web" {
			web[strings.Fields(c.Name)[0]] = true
			if c.Name == "pdb" && c.Failure != nil {
				pdb = c.Failure.Text
			}
		}
	}
	if len(web) != applicable {
		t.Errorf("deployment/web: cases for %d rules, want %d", len(web), applicable)
	}
	if !strings.Contains(pdb, "fix: kubectl harden deployment/web -n demo --fix=pdb --yes") && !strings.Contains(pdb, "needs a human") {
		t.Errorf("pdb failure:\n%s", pdb)
	}
}
