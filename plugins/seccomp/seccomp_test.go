package seccomp

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "no profile", Failure: "testdata/failure-unset.yaml", Fixed: "testdata/fixed-unset.yaml",
			Findings: []string{`seccompProfile (pod or container "web" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`}},
		{Name: "unconfined container needs a human", Failure: "testdata/failure-unconfined.yaml",
			Findings: []string{"seccompProfile"}, NeedsHuman: []string{"container web asks for an Unconfined seccomp profile"}},
		{Name: "RuntimeDefault passes", Failure: "testdata/pass.yaml"},
	})
}
