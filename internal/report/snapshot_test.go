package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// The summary's zone row: "(no zone)" is only a node without the zone
// label; nodes that could not be listed leave zones unknown.
func TestPrintSnapshotZoneRow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		adjust func(s *inspect.Snapshot)
		want   string
	}{
		{"labelled nodes", func(*inspect.Snapshot) {}, "  ready by zone    zone-a=1 (cluster zones: zone-a, zone-b, zone-c)\n"},
		{"a node without the label", func(s *inspect.Snapshot) {
			s.Cluster.Nodes[0].Zone = ""
		}, "  ready by zone    (no zone)=1 (cluster zones: zone-b, zone-c)\n"},
		{"nodes unread", func(s *inspect.Snapshot) {
			s.Cluster.Nodes = nil
			s.Cluster.Unread = []inspect.Unread{{Resource: inspect.ResNodes, Verb: "list", Reason: inspect.ReasonForbidden}}
		}, "  ready by zone    unknown: nodes cannot be listed (forbidden)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := rulestest.Load(t, "../tui/testdata/web.yaml")
			tc.adjust(s)
			var out bytes.Buffer
			PrintSnapshot(&out, s)
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("the summary lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
}
