package livenessprobe

import (
	"strings"
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
		{Name: "relaxing never lowers a threshold", Failure: "testdata/failure-tight-slow.yaml", Fixed: "testdata/fixed-tight-slow.yaml",
			Findings: []string{"livenessProbe gives up after 30s (timeoutSeconds 1, failureThreshold 1)"}},
		{Name: "the Service's targetPort, not the first declared port", Failure: "testdata/failure-target-named.yaml", Fixed: "testdata/fixed-target-named.yaml",
			Findings: []string{"container web has no livenessProbe"}},
		{Name: "several ports and no Service need a human", Failure: "testdata/failure-several-ports.yaml",
			Findings: []string{"container web has no livenessProbe"},
			Manual:   []string{"container web declares 2 TCP ports (metrics 9090, http 8080) and no Service targets one of them: say which one serves, with --set liveness-probe.port=NAME"}},
		{Name: "a slow start gets a startupProbe with the new liveness probe", Failure: "testdata/failure-slow-start.yaml", Fixed: "testdata/fixed-slow-start.yaml",
			Findings: []string{"container search has no livenessProbe"}},
		{Name: "tolerant passes", Failure: "testdata/pass.yaml"},
	})
}

// The description names the port and why, the tolerance, the timeout's
// source, and the start-up budget when a startupProbe comes with it.
func TestDescriptionSaysWhereNumbersComeFrom(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/failure-target-named.yaml": "add a livenessProbe to container web: tcpSocket on port http (targeted by Service web, port 80 → targetPort http), tolerance 60 s: failureThreshold 6 (harden's default; Kubernetes' is 3) × periodSeconds 10 (Kubernetes' default), timeoutSeconds 5 (harden's default; Kubernetes' is 1)",
		"testdata/failure-slow-start.yaml": "add a livenessProbe to container search: tcpSocket on port http (the only TCP port container search declares), tolerance 60 s: failureThreshold 6 (harden's default; Kubernetes' is 3) × periodSeconds 10 (Kubernetes' default), timeoutSeconds 8 (the readinessProbe's); " +
			"and a startupProbe with the same check, start-up budget 184 s (failureThreshold 23 × periodSeconds 8 s) ≥ 2 × slowest observed start 1m30s, ≥ minimum 30 s, so that",
		"testdata/failure-tight-slow.yaml": "relax the livenessProbe thresholds of container api: timeoutSeconds 1 → 5, failureThreshold 1 → 3 (harden's minimums: periodSeconds 10, timeoutSeconds 5, failureThreshold 3; unset fields read as Kubernetes' defaults 10, 1, 3)",
	} {
		s := rulestest.Load(t, file)
		f, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
		if err != nil || !strings.Contains(f.Description, want) {
			t.Errorf("%s: %v, description %q lacks %q", file, err, f.Description, want)
		}
	}
}
