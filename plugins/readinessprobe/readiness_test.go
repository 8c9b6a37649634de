package readinessprobe

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "served: tcpSocket on the named port", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-served.yaml",
			Findings: []string{"container web has no readinessProbe: Service web sends it traffic"}},
		{Name: "httpGet only with a given path", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-path.yaml",
			Findings: []string{"no readinessProbe"}, Params: rules.Params{"path": "/ready", "port": "8080"}},
		{Name: "liveness without readiness; a client without ports or Service has no traffic to gate", Failure: "testdata/failure-liveness-only.yaml", Fixed: "testdata/fixed-liveness-only.yaml",
			Findings: []string{"has a livenessProbe but no readinessProbe"}},
		{Name: "served sidecar without ports needs a human", Failure: "testdata/failure-sidecar.yaml",
			Findings: []string{"container web has no readinessProbe", "container log-shipper has no readinessProbe"},
			Manual:   []string{"container log-shipper declares no TCP port"}, Fixed: "testdata/fixed-sidecar.yaml"},
		{Name: "probed passes", Failure: "testdata/pass.yaml"},
	})
}

func TestSeverityFollowsServices(t *testing.T) {
	if f := (Rule{}).Check(rulestest.Load(t, "testdata/failure-served.yaml")); f[0].Severity != rules.High {
		t.Errorf("served pods: severity %v, want high", f[0].Severity)
	}
	if f := (Rule{}).Check(rulestest.Load(t, "testdata/failure-liveness-only.yaml")); f[0].Severity != rules.Medium {
		t.Errorf("unserved pods: severity %v, want medium", f[0].Severity)
	}
}
