package startupprobe

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "observed slow start sizes the budget", Failure: "testdata/failure-slow.yaml", Fixed: "testdata/fixed-slow.yaml",
			Findings: []string{"pods took up to 1m30s to become ready, more than the 30s its livenessProbe allows"}},
		{Name: "initialDelaySeconds instead of a startup probe", Failure: "testdata/failure-delay.yaml", Fixed: "testdata/fixed-delay.yaml",
			Findings: []string{"waits a fixed initialDelaySeconds 60"}},
		{Name: "budget parameter", Failure: "testdata/failure-delay.yaml", Fixed: "testdata/fixed-budget.yaml",
			Findings: []string{"initialDelaySeconds 60"}, Params: rules.Params{"budget": "300"}},
		{Name: "fast start passes", Failure: "testdata/pass.yaml"},
	})
}
