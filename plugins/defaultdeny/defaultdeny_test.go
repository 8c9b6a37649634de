package defaultdeny

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.RunNamespace(t, Rule{}, []rulestest.NamespaceCase{
		{Name: "no default deny", Fixture: "testdata/failure-none.yaml", Findings: []string{"no default-deny NetworkPolicy"}},
		{Name: "default deny passes", Fixture: "testdata/pass.yaml"},
	})
}
