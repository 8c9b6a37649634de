package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
)

// viewerUnread is what an audit as the built-in view ClusterRole records,
// with a hostile API server message.
var viewerUnread = []inspect.Unread{
	{Resource: "clusterrolebindings", Verb: "list", Reason: inspect.ReasonForbidden, Message: `clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "viewer" cannot list`},
	{Resource: "nodes", Verb: "list", Reason: inspect.ReasonForbidden, Message: "nodes is forbidden: <b>|`x`|</b>"},
	{Resource: "priorityclasses", Verb: "list", Reason: inspect.ReasonForbidden},
}

func viewerAudit(t *testing.T) *audit.Report {
	rep := demoAudit(t)
	rep.Unread = viewerUnread
	return rep
}

// Markdown: a short "Could not read" section, one item per refused read,
// before the namespaces; none when every read was made.
func TestMarkdownCouldNotRead(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAuditMarkdown(&buf, viewerAudit(t)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := "## Could not read\n\nThe API server refused these reads; the findings that depend on them say so.\n\n" +
		"- RBAC bindings unknown: clusterrolebindings cannot be listed (forbidden)\n" +
		"- zones unknown: nodes cannot be listed (forbidden)\n" +
		"- PriorityClasses unknown: priorityclasses cannot be listed (forbidden)\n\n## Namespace demo"
	if !strings.Contains(out, want) {
		t.Errorf("markdown lacks\n%s\nin:\n%s", want, out)
	}
	buf.Reset()
	if err := WriteAuditMarkdown(&buf, demoAudit(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Could not read") {
		t.Error("a full read says it could not read")
	}
}

// SARIF: one warning notification per refused read on the run's
// invocation, valid against the schema; no invocation when every read was
// made.
func TestSARIFUnreadNotifications(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAuditSARIF(&buf, viewerAudit(t)); err != nil {
		t.Fatal(err)
	}
	if err := sariftest.Validate(buf.Bytes()); err != nil {
		t.Fatalf("invalid SARIF: %v", err)
	}
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful        *bool
				ToolExecutionNotifications []struct {
					Level      string
					Message    struct{ Text string }
					Properties map[string]string
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	inv := log.Runs[0].Invocations
	if len(inv) != 1 || inv[0].ExecutionSuccessful == nil || !*inv[0].ExecutionSuccessful || len(inv[0].ToolExecutionNotifications) != len(viewerUnread) {
		t.Fatalf("invocations %+v, want one, successful, with %d notifications", inv, len(viewerUnread))
	}
	for i, n := range inv[0].ToolExecutionNotifications {
		u := viewerUnread[i]
		if n.Level != "warning" || n.Message.Text != u.String() || n.Properties["resource"] != u.Resource ||
			n.Properties["verb"] != "list" || n.Properties["reason"] != "forbidden" || n.Properties["apiServerMessage"] != u.Message {
			t.Errorf("notification %d: %+v, want a warning for %+v", i, n, u)
		}
	}
	buf.Reset()
	if err := WriteAuditSARIF(&buf, demoAudit(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "invocations") {
		t.Error("a full read has invocations")
	}
}

// JUnit: each suite's system-err names the refused reads, after its
// cases; none when every read was made.
func TestJUnitUnreadSystemErr(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAuditJUnit(&buf, viewerAudit(t)); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := "kubectl harden could not read (the findings that depend on it say so):\n" +
		"RBAC bindings unknown: clusterrolebindings cannot be listed (forbidden)\n" +
		"zones unknown: nodes cannot be listed (forbidden)\n" +
		"PriorityClasses unknown: priorityclasses cannot be listed (forbidden)"
	if len(doc.Suites) == 0 || doc.Suites[0].SystemErr != want {
		t.Errorf("system-err %q, want %q", doc.Suites[0].SystemErr, want)
	}
	if i, j := strings.LastIndex(buf.String(), "</testcase>"), strings.Index(buf.String(), "<system-err>"); j < i {
		t.Errorf("system-err before the cases:\n%s", buf.String())
	}
	buf.Reset()
	if err := WriteAuditJUnit(&buf, demoAudit(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "system-err") {
		t.Error("a full read has a system-err")
	}
}
