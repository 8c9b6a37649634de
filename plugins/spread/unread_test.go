package spread

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// Nodes that could not be listed: the finding stays (the template has no
// spread) but claims no zone count, and the fix is left to a human rather
// than computed without the zones.
func TestZonesUnknown(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-zoned.yaml")
	s.Cluster.Nodes = nil
	s.Cluster.Unread = []inspect.Unread{{Resource: inspect.ResNodes, Verb: "list", Reason: inspect.ReasonForbidden}}
	fs := Rule{}.Check(s)
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0]
	if strings.Contains(f.Message, "zones:") || !strings.Contains(f.Message, "(zones unknown: nodes forbidden)") ||
		!strings.HasPrefix(f.Message, "no topologySpreadConstraints or podAntiAffinity") {
		t.Errorf("message %q", f.Message)
	}
	if !strings.HasPrefix(f.NeedsHuman, "run as a user who may list nodes, or spread on kubernetes.io/hostname") {
		t.Errorf("manual %q", f.NeedsHuman)
	}
	_, err := Rule{}.Fix(s, rules.Finding{Rule: id}, nil)
	var human *rules.NeedsHumanError
	if !errors.As(err, &human) || !strings.HasPrefix(human.Reason, "zones unknown: nodes forbidden: run as a user who may list nodes") {
		t.Errorf("fix: %v", err)
	}
}
