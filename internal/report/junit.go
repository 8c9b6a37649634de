package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// JUnit XML as Jenkins, GitLab, Azure Pipelines and the JUnit GitHub
// actions read it: testsuites → testsuite → testcase with failure or
// skipped.
//
// A test case is one rule checked on one object: every workload × every
// rule that applies to its kind, and every namespace × every namespace
// rule. A rule that found nothing is a passing case, so the suite's size
// says how much was checked and a fix shows up as a failure turning into a
// pass, which CI systems track from run to run. A rule with several
// pending findings on one object (one per container, say) gives one failing
// case per finding, so each failure carries one message; exempted findings
// are skipped cases.

// JUnitSuites is the document's root; exported so tests and callers can
// read it back.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one namespace.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitCase     `xml:"testcase"`
	// SystemErr lists the reads the API server refused, one a line: what
	// the cases of this suite could not know. After the cases, as the
	// JUnit schema orders them.
	SystemErr string `xml:"system-err,omitempty"`
}

// JUnitProperty is a name/value pair of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one rule on one object.
type JUnitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	// Error is a check that could not run: in a fleet audit, a cluster
	// that could not be read.
	Error   *JUnitFailure `xml:"error,omitempty"`
	Skipped *JUnitSkipped `xml:"skipped,omitempty"`
}

// JUnitFailure is one pending finding.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped is an exempted finding.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitUnread is the suites' system-err: "kubectl harden could not read:"
// then a line per refused read, e.g. "zones unknown: nodes cannot be listed
// (forbidden)"; "" when every read was made.
func junitUnread(unread []inspect.Unread) string {
	if len(unread) == 0 {
		return ""
	}
	lines := []string{"kubectl harden could not read (the findings that depend on it say so):"}
	for _, u := range unread {
		lines = append(lines, u.String())
	}
	return strings.Join(lines, "\n")
}

// WriteAuditJUnit writes the audit as JUnit XML, one suite per namespace;
// each suite's system-err names the reads the API server refused, which
// every namespace's cases lack (each was a LIST of the whole scope, or
// cluster-scoped).
func WriteAuditJUnit(w io.Writer, rep *audit.Report) error {
	doc := JUnitSuites{Name: "kubectl harden audit"}
	doc.add(junitSuitesOf(rep)...)
	return writeJUnit(w, doc)
}

// add appends suites to the document and adds up their counts.
func (doc *JUnitSuites) add(suites ...JUnitSuite) {
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
}

// writeJUnit encodes the document, indented, after the XML header.
func writeJUnit(w io.Writer, doc JUnitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitSuitesOf is one report's suites, one per namespace (see
// WriteAuditJUnit).
func junitSuitesOf(rep *audit.Report) []JUnitSuite {
	var suites []JUnitSuite
	for _, n := range rep.Namespaces {
		s := JUnitSuite{Name: n.Name, Properties: []JUnitProperty{{Name: "score", Value: fmt.Sprint(n.Score)}}}
		if rep.Policy != nil {
			s.Properties = append(s.Properties, JUnitProperty{Name: "policy", Value: rep.Policy.Path}, JUnitProperty{Name: "policy.sha256", Value: rep.Policy.SHA256})
		}
		for _, r := range rules.NamespaceRules() {
			s.addCases("namespace/"+n.Name, "", r.Meta(), n.Findings)
		}
		for _, wl := range n.Workloads {
			for _, r := range rules.All() {
				if m := r.Meta(); m.AppliesTo(wl.Kind) {
					s.addCases(n.Name+"."+strings.ToLower(wl.Kind)+"/"+wl.Name, FixCommand(n.Name, wl.Kind, wl.Name, []string{m.ID}), m, wl.Findings)
				}
			}
		}
		s.SystemErr = junitUnread(rep.Unread)
		suites = append(suites, s)
	}
	return suites
}

// addCases adds the cases of one rule on one object: a pass, or one case
// per finding. fix is the command that fixes the object's findings of m.
func (s *JUnitSuite) addCases(class, fix string, m rules.Meta, findings []rules.Result) {
	var mine []rules.Result
	for _, f := range findings {
		if f.Rule == m.ID {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		s.Cases = append(s.Cases, JUnitCase{ClassName: class, Name: m.ID})
		s.Tests++
		return
	}
	for _, f := range mine {
		c := JUnitCase{ClassName: class, Name: caseName(f)}
		switch {
		case f.Status == rules.StatusExempted:
			c.Skipped = &JUnitSkipped{Message: "exempted: " + f.Reason}
			s.Skipped++
		case f.Pending():
			c.Failure = &JUnitFailure{Message: f.Message, Type: f.Severity.String(), Text: failureText(m, f, fix)}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
	}
}

func caseName(f rules.Result) string {
	switch {
	case f.Container != "":
		return f.Rule + " (container " + f.Container + ")"
	case f.Field != "":
		return f.Rule + " (" + f.Field + ")"
	}
	return f.Rule
}

func failureText(m rules.Meta, f rules.Result, fix string) string {
	lines := []string{
		"severity: " + f.Severity.String(),
		"rule: " + m.ID + " (" + m.Title + ")",
		"category: " + string(f.Category),
		"message: " + f.Message,
	}
	switch n := Note(f); {
	case n != "" && f.Status == rules.StatusNeedsHuman:
		lines = append(lines, "needs a human: "+n)
	case n != "":
		lines = append(lines, string(f.Status)+": "+n)
	}
	lines = append(lines, "why: "+m.Why, "remediation: "+m.Remediation)
	if m.Fixable && f.Status == rules.StatusNotSelected && fix != "" {
		lines = append(lines, "fix: "+fix)
	}
	return strings.Join(lines, "\n")
}
