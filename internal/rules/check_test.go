package rules

import "testing"

// A finding's Rule, Severity and Category come from the rule's Meta
// unless the finding sets its own.
func TestCompleteFillsWhatMetaSays(t *testing.T) {
	m := Meta{ID: "host-path", Severity: High, Category: Security}
	got := m.Complete([]Finding{
		{Message: "volume logs mounts the node's /var/log"},
		{Message: "volume docker mounts the runtime socket", Severity: Critical},
		{Message: "another rule's", Rule: "other", Category: Network},
	})
	want := []Finding{
		{Rule: "host-path", Severity: High, Category: Security, Message: "volume logs mounts the node's /var/log"},
		{Rule: "host-path", Severity: Critical, Category: Security, Message: "volume docker mounts the runtime socket"},
		{Rule: "other", Severity: High, Category: Network, Message: "another rule's"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
