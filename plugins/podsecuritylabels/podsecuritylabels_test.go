package podsecuritylabels

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.RunNamespace(t, Rule{}, []rulestest.NamespaceCase{
		{Name: "unlabelled, restricted pods", Fixture: "testdata/failure-unlabelled.yaml", Findings: []string{"already satisfy restricted"}},
		{Name: "a root pod caps it at baseline", Fixture: "testdata/failure-baseline.yaml", Findings: []string{"already satisfy baseline"}},
		{Name: "a host-network pod needs privileged", Fixture: "testdata/failure-privileged.yaml", Findings: []string{"some pods need privileged"}},
		{Name: "a weaker label", Fixture: "testdata/failure-weaker.yaml", Findings: []string{"enforces baseline, while all its pods already satisfy restricted"}},
		{Name: "a privileged template, no pod yet", Fixture: "testdata/failure-template.yaml", Findings: []string{"some pods need privileged"}},
		{Name: "restricted passes", Fixture: "testdata/pass.yaml"},
	})
}
