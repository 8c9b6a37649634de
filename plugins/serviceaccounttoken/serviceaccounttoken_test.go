package serviceaccounttoken

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "token nothing grants rights to", Failure: "testdata/failure-unbound.yaml", Fixed: "testdata/fixed-unbound.yaml",
			Findings: []string{"pods mount an API token for ServiceAccount web, which no RoleBinding or ClusterRoleBinding names"}},
		{Name: "default ServiceAccount reported", Failure: "testdata/failure-default.yaml",
			Findings: []string{"default ServiceAccount"}, NeedsHuman: []string{"create a ServiceAccount"}},
		{Name: "bound ServiceAccount keeps its token", Failure: "testdata/pass-bound.yaml"},
	})
}
