package privileged

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "privileged init and app containers", Failure: "testdata/failure-privileged.yaml", Fixed: "testdata/fixed-privileged.yaml",
			Findings: []string{`privileged (containers "init", "web" must not set securityContext.privileged=true)`}},
		{Name: "unprivileged passes", Failure: "testdata/pass.yaml"},
	})
}
