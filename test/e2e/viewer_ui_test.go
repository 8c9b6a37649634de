package e2e

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
)

// A view user sees what could not be read outside the text report too:
// in the UI's header (zones unknown, an unread line) and in the audit's
// Markdown, SARIF and JUnit.
func TestViewerSeesUnreadEverywhere(t *testing.T) {
	ns := shopNamespace(t)
	user := userFor(ns, "viewall")
	bindView(t, user, "", "view")

	term := newTerminal(t, "kubectl harden deploy/api -n "+ns+" --as="+user)
	s := term.waitFor("findings", 30*time.Second)
	for _, want := range []string{"zones unknown", "unread: ", "nodes", "(-o text lists them)"} {
		if !strings.Contains(s, want) {
			t.Errorf("the UI's header lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "no zone") {
		t.Errorf("the UI shows unread nodes as no zone:\n%s", s)
	}
	term.keys("q")
	if code := term.exitCode(); code != "1" {
		t.Errorf("q as view: exit %s, want 1 (findings pending)", code)
	}

	md := harden(t, "audit", "-n", ns, "-o", "markdown", "--as="+user)
	if md.code != 1 || !strings.Contains(md.stdout, "## Could not read\n") ||
		!strings.Contains(md.stdout, "\n- zones unknown: nodes cannot be listed (forbidden)\n") {
		t.Errorf("audit -o markdown as view lacks the Could not read section:\n%s", md)
	}

	sarif := harden(t, "audit", "-n", ns, "-o", "sarif", "--as="+user)
	if err := sariftest.Validate([]byte(sarif.stdout)); err != nil {
		t.Fatalf("audit -o sarif as view is not valid SARIF: %v", err)
	}
	var log struct {
		Runs []struct {
			Invocations []struct {
				ToolExecutionNotifications []struct {
					Level   string
					Message struct{ Text string }
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(sarif.stdout), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Invocations) != 1 {
		t.Fatalf("audit -o sarif as view: %v, want one run with one invocation:\n%s", err, sarif.stdout)
	}
	var got []string
	for _, n := range log.Runs[0].Invocations[0].ToolExecutionNotifications {
		if n.Level == "warning" {
			got = append(got, n.Message.Text)
		}
	}
	for _, l := range viewerUnreadLines {
		if !strings.Contains(strings.Join(got, "\n"), l) {
			t.Errorf("the SARIF notifications %q lack %q", got, l)
		}
	}

	junit := harden(t, "audit", "-n", ns, "-o", "junit", "--as="+user)
	var doc report.JUnitSuites
	if err := xml.Unmarshal([]byte(junit.stdout), &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("audit -o junit as view: %v:\n%s", err, junit.stdout)
	}
	for _, l := range viewerUnreadLines {
		if !strings.Contains(doc.Suites[0].SystemErr, l) {
			t.Errorf("the JUnit system-err %q lacks %q", doc.Suites[0].SystemErr, l)
		}
	}
}
