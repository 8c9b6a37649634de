package networkpolicy

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "the Services' ports from the namespace", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-served.yaml",
			Findings: []string{"no NetworkPolicy selects the pods"}},
		{Name: "allow-from and DNS-only egress", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-allow-from.yaml",
			Findings: []string{"no NetworkPolicy"}, Params: rules.Params{"allow-from": "ingress-nginx", "egress": "dns-only"}},
		{Name: "no Service: a human names the ports", Failure: "testdata/failure-unserved.yaml",
			Findings: []string{"no NetworkPolicy"}, Manual: []string{"--set network-policy.ports="}},
		{Name: "ports parameter", Failure: "testdata/failure-unserved.yaml", Fixed: "testdata/fixed-ports.yaml",
			Findings: []string{"no NetworkPolicy"}, Params: rules.Params{"ports": "8080"}},
		{Name: "a selecting policy passes", Failure: "testdata/pass.yaml"},
	})
}
