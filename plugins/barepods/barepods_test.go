package barepods

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.RunNamespace(t, Rule{}, []rulestest.NamespaceCase{
		{Name: "a pod without controller", Fixture: "testdata/failure-bare.yaml", Findings: []string{"pod debug has no controller"}},
		{Name: "owned pods pass", Fixture: "testdata/pass.yaml"},
	})
}
