package resources

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// Pod metrics the user may not read: no size is guessed, and the reason
// says the usage is unknown rather than "not served".
func TestUsageUnread(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-no-data.yaml")
	s.Usage = nil
	s.Unread = []inspect.Unread{{Resource: inspect.ResPodMetrics, Verb: "list", Reason: inspect.ReasonForbidden}}
	fs := Rule{}.Check(s)
	if len(fs) == 0 {
		t.Fatal("no finding")
	}
	_, err := Rule{}.Fix(s, fs[0], nil)
	var human *rules.NeedsHumanError
	if !errors.As(err, &human) || !strings.Contains(human.Reason, "no usage data (observed usage unknown: pods.metrics.k8s.io forbidden)") ||
		strings.Contains(human.Reason, "not served") {
		t.Errorf("fix: %v", err)
	}
}
