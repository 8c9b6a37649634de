package quotas

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.RunNamespace(t, Rule{}, []rulestest.NamespaceCase{
		{Name: "neither", Fixture: "testdata/failure-none.yaml", Findings: []string{"no ResourceQuota", "no LimitRange"}},
		{Name: "both pass", Fixture: "testdata/pass.yaml"},
	})
}
