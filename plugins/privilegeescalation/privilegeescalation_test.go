package privilegeescalation

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "unset and true", Failure: "testdata/failure-unset.yaml", Fixed: "testdata/fixed-unset.yaml",
			Findings: []string{`allowPrivilegeEscalation != false (containers "web", "agent" must set securityContext.allowPrivilegeEscalation=false)`}},
		{Name: "SYS_ADMIN blocks the fix", Failure: "testdata/failure-sysadmin.yaml",
			Findings: []string{"allowPrivilegeEscalation != false"}, NeedsHuman: []string{"web (adds SYS_ADMIN)"}},
		{Name: "false passes", Failure: "testdata/pass.yaml"},
	})
}
