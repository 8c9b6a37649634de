package sysctls

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	r, _ := rules.Get("sysctls")
	rulestest.Run(t, r, []rulestest.Case{
		{Name: "violation reported for a human", Failure: "testdata/failure-unsafe.yaml",
			Findings: []string{`forbidden sysctls (kernel.msgmax)`}, NeedsHuman: []string{"remove"}},
		{Name: "clean pod passes", Failure: "testdata/pass.yaml"},
	})
}
