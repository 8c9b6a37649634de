package cli

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/owners"
	"github.com/kubectl-harden/kubectl-harden/pkg/report"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

// -o diff's header is whole lines, each ending in a real newline, so the
// unified diff after it still starts with its own "--- " line; control
// characters inside a line are escaped.
func TestOwnershipHeaderLines(t *testing.T) {
	wl := report.Workload{Kind: "Deployment", Namespace: "shop", Name: "web", Findings: []rules.Result{
		{Finding: rules.Finding{Rule: "replicas"}, Status: rules.StatusConflict, Reason: ".spec.replicas is owned by kubectl-client-side-apply\x1b[31m"},
		{Finding: rules.Finding{Rule: "readiness-probe"}, Status: rules.StatusFixed,
			Owners: []owners.Conflict{{Field: ".spec.template", Manager: "kubectl-edit", Class: owners.OneOff}}},
	}}
	got := ownershipHeader(wl)
	want := "# deployment/web -n shop: replicas not applied (conflict): .spec.replicas is owned by kubectl-client-side-apply\\x1b[31m\n" +
		"# deployment/web -n shop: readiness-probe takes .spec.template from field manager kubectl-edit (one-off)\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(got, "\x1b") {
		t.Error("a control character reached the terminal")
	}
}
