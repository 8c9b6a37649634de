package pdb

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "no budget", Failure: "testdata/failure-missing.yaml", Fixed: "testdata/fixed-missing.yaml",
			Findings: []string{"no PodDisruptionBudget"}},
		{Name: "percentage parameter", Failure: "testdata/failure-missing.yaml", Fixed: "testdata/fixed-percent.yaml",
			Findings: []string{"no PodDisruptionBudget"}, Params: rules.Params{"max-unavailable": "25%"}},
		{Name: "one replica needs the replicas fix first", Failure: "testdata/failure-one-replica.yaml",
			Findings: []string{"no PodDisruptionBudget"}, NeedsHuman: []string{"fix replicas first"}},
		{Name: "blocking minAvailable", Failure: "testdata/failure-blocking.yaml",
			Findings: []string{"allows no eviction with 3 replicas"}, NeedsHuman: []string{"relax PodDisruptionBudget web"}},
		{Name: "two budgets", Failure: "testdata/failure-two.yaml",
			Findings: []string{"2 PodDisruptionBudgets select the same pods"}, NeedsHuman: []string{"delete all but one"}},
		{Name: "budget selecting nothing", Failure: "testdata/failure-selects-nothing.yaml", Fixed: "testdata/fixed-selects-nothing.yaml",
			Findings: []string{"selects none of its pods", "no PodDisruptionBudget"}, NeedsHuman: []string{"fix the selector"}},
		{Name: "budget names taken, in any order", Failure: "testdata/failure-names-taken.yaml", Fixed: "testdata/fixed-names-taken.yaml",
			Findings: []string{"PodDisruptionBudget web-pdb is named for this workload but selects none of its pods",
				"PodDisruptionBudget web is named for this workload but selects none of its pods", "no PodDisruptionBudget"},
			NeedsHuman: []string{"fix the selector of PodDisruptionBudget web-pdb", "fix the selector of PodDisruptionBudget web "}},
		{Name: "good budget passes", Failure: "testdata/pass.yaml"},
		{Name: "a neighbour of the same name has the budget web: not this workload's", Failure: "testdata/pass-same-name.yaml"},
		{Name: "selector shared with a neighbour: the pod template's labels", Failure: "testdata/failure-neighbour.yaml",
			Fixed: "testdata/fixed-neighbour.yaml", Findings: []string{"no PodDisruptionBudget"}},
		{Name: "no label tells the pods from a neighbour's", Failure: "testdata/failure-indistinct.yaml",
			Findings:   []string{"no PodDisruptionBudget"},
			NeedsHuman: []string{"pods of deployment/api carry every label of these pods (app=shop): give the pods a distinguishing label"}},
		{Name: "budget over a neighbour's pods beside their own budget", Failure: "testdata/failure-shared.yaml",
			Findings: []string{"PodDisruptionBudget web selects the pods of deployment/api too, which PodDisruptionBudget api also selects: " +
				"the eviction API refuses to evict a pod that more than one PodDisruptionBudget selects"},
			NeedsHuman: []string{`narrow the selector of PodDisruptionBudget web to this workload's own pods, e.g. selector: {"matchLabels":{"app":"shop","tier":"web"}}`}},
		{Name: "a namespace-wide budget (empty selector) already covers the pods: no second one", Failure: "testdata/failure-namespace-wide.yaml",
			Findings:   []string{"PodDisruptionBudget everyone selects the pods of deployment/api too: one budget for both"},
			NeedsHuman: []string{"narrow the selector of PodDisruptionBudget everyone"}},
		{Name: "budget shared with a neighbour", Failure: "testdata/failure-shared-alone.yaml",
			Findings:   []string{"PodDisruptionBudget web selects the pods of deployment/api too: one budget for both"},
			NeedsHuman: []string{"narrow the selector of PodDisruptionBudget web"}},
	})
}
