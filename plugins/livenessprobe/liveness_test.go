package livenessprobe

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "missing", Failure: "testdata/failure-missing.yaml", Fixed: "testdata/fixed-missing.yaml",
			Findings: []string{"container web has no livenessProbe"}},
		{Name: "identical to readiness", Failure: "testdata/failure-identical.yaml",
			Findings: []string{"identical to readinessProbe"}, Manual: []string{"make the liveness probe check only"}},
		{Name: "tight thresholds relaxed", Failure: "testdata/failure-tight.yaml", Fixed: "testdata/fixed-tight.yaml",
			Findings: []string{"livenessProbe gives up after 2s (timeoutSeconds 1, failureThreshold 1)"}},
		{Name: "tolerant passes", Failure: "testdata/pass.yaml"},
	})
}
