package hostnamespaces

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	r, _ := rules.Get("host-namespaces")
	rulestest.Run(t, r, []rulestest.Case{
		{Name: "violation reported for a human", Failure: "testdata/failure-hostnetwork.yaml",
			Findings: []string{`host namespaces (hostNetwork=true, hostPID=true)`}, NeedsHuman: []string{"remove"}},
		{Name: "clean pod passes", Failure: "testdata/pass.yaml"},
	})
}
