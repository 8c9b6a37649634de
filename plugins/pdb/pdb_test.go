package pdb

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "no budget", Failure: "testdata/failure-missing.yaml", Fixed: "testdata/fixed-missing.yaml",
			Findings: []string{"no PodDisruptionBudget"}},
		{Name: "percentage parameter", Failure: "testdata/failure-missing.yaml", Fixed: "testdata/fixed-percent.yaml",
			Findings: []string{"no PodDisruptionBudget"}, Params: rules.Params{"max-unavailable": "25%"}},
		{Name: "one replica needs the replicas fix first", Failure: "testdata/failure-one-replica.yaml",
			Findings: []string{"no PodDisruptionBudget"}, Manual: []string{"fix replicas first"}},
		{Name: "blocking minAvailable", Failure: "testdata/failure-blocking.yaml",
			Findings: []string{"allows no eviction with 3 replicas"}, Manual: []string{"relax PodDisruptionBudget web"}},
		{Name: "two budgets", Failure: "testdata/failure-two.yaml",
			Findings: []string{"2 PodDisruptionBudgets select the same pods"}, Manual: []string{"delete all but one"}},
		{Name: "budget selecting nothing", Failure: "testdata/failure-selects-nothing.yaml", Fixed: "testdata/fixed-selects-nothing.yaml",
			Findings: []string{"selects none of its pods", "no PodDisruptionBudget"}, Manual: []string{"fix the selector"}},
		{Name: "good budget passes", Failure: "testdata/pass.yaml"},
	})
}
