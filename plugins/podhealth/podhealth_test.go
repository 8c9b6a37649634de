package podhealth

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "sick pods", Failure: "testdata/failure-sick.yaml",
			Findings: []string{
				"container web is in CrashLoopBackOff in pod web-1",
				"container web restarted 5+ times in pod web-1",
				"container sidecar is in ImagePullBackOff in 2 pods (web-1, …)",
				"container web was OOMKilled in pod web-2",
				"container web is in CreateContainerConfigError in pod web-3",
				"0 of 3 desired pods are available",
			},
			// Statuses come sorted by severity: high first.
			NeedsHuman: []string{"kubectl describe pod web-1", "kubectl describe pod web-1", "raise the memory limit", "kubectl describe pod web-3", "kubectl logs --previous web-1 -c web", "kubectl rollout status deployment/web"}},
		{Name: "healthy pods pass", Failure: "testdata/pass.yaml"},
	})
}
