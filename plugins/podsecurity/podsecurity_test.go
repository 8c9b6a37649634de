package podsecurity

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	r, _ := rules.Get("pod-security")
	rulestest.Run(t, r, []rulestest.Case{
		{Name: "violation reported for a human", Failure: "testdata/failure-apparmor.yaml",
			Findings: []string{`forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")`}, NeedsHuman: []string{"remove"}},
		{Name: "clean pod passes", Failure: "testdata/pass.yaml"},
	})
}
