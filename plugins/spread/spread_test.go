package spread

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "zoned cluster, pods on one node", Failure: "testdata/failure-zoned.yaml", Fixed: "testdata/fixed-zoned.yaml",
			Findings: []string{"may all land in one of 3 zones (all 2 pods are on node n1 now)"}},
		{Name: "no zones: hostname only", Failure: "testdata/failure-nozones.yaml", Fixed: "testdata/fixed-nozones.yaml",
			Findings: []string{"may all land on one node"}},
		{Name: "selector shared with a neighbour: own template labels", Failure: "testdata/failure-neighbour.yaml", Fixed: "testdata/fixed-neighbour.yaml",
			Findings: []string{"may all land on one node"}},
		{Name: "anti-affinity alone is enough", Failure: "testdata/pass-antiaffinity.yaml"},
		{Name: "spread constraints alone are enough", Failure: "testdata/pass-spread.yaml"},
	})
}
