package hostports

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	r, _ := rules.Get("host-ports")
	rulestest.Run(t, r, []rulestest.Case{
		{Name: "violation reported for a human", Failure: "testdata/failure-hostport.yaml",
			Findings: []string{`hostPort (container "web" uses hostPort 80)`}, NeedsHuman: []string{"remove"}},
		{Name: "clean pod passes", Failure: "testdata/pass.yaml"},
	})
}
