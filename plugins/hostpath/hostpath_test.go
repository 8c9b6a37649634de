package hostpath

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "runtime socket and a host directory", Failure: "testdata/failure-socket.yaml",
			Findings:   []string{"volume docker mounts the container runtime socket /var/run/docker.sock", "volume logs mounts the node's /var/log"},
			NeedsHuman: []string{"replace the hostPath volume docker", "replace the hostPath volume logs"}},
		{Name: "no hostPath passes", Failure: "testdata/pass.yaml"},
	})
}

func TestSocketIsCritical(t *testing.T) {
	f := rules.Check(Rule{}, rulestest.Load(t, "testdata/failure-socket.yaml")) // the rule's High comes from its Meta
	if f[0].Severity != rules.Critical || f[1].Severity != rules.High {
		t.Errorf("severities %v %v", f[0].Severity, f[1].Severity)
	}
}
