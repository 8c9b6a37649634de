package rollout

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "risky deployment", Failure: "testdata/failure-deployment.yaml", Fixed: "testdata/fixed-deployment.yaml",
			Findings: []string{"maxUnavailable 50% lets a rollout take down 1 of 2 pods", "progressDeadlineSeconds 7200", "minReadySeconds 0", "revisionHistoryLimit 0"}},
		{Name: "recreate needs a human", Failure: "testdata/failure-recreate.yaml",
			Findings: []string{"strategy Recreate"}, Manual: []string{"switch to RollingUpdate"}},
		{Name: "statefulset on delete", Failure: "testdata/failure-statefulset.yaml", Fixed: "testdata/fixed-statefulset.yaml",
			Findings: []string{"updateStrategy OnDelete", "minReadySeconds 0"}, Manual: []string{"switch to RollingUpdate"}},
		{Name: "safe deployment passes", Failure: "testdata/pass.yaml"},
	})
}
