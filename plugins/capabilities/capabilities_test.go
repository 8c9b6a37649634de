package capabilities

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "default capabilities kept", Failure: "testdata/failure-default.yaml", Fixed: "testdata/fixed-default.yaml",
			Findings: []string{"containers web, proxy keep the default capabilities: drop ALL"}},
		{Name: "added capabilities need a human", Failure: "testdata/failure-added.yaml", Fixed: "testdata/fixed-added.yaml",
			Findings: []string{"containers worker keep the default capabilities", "container worker adds NET_ADMIN, SYS_ADMIN"},
			Manual:   []string{"remove the capabilities the app does not need"}},
		{Name: "drop ALL passes", Failure: "testdata/pass.yaml"},
	})
}
