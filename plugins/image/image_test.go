package image

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "pinned to the digests the pods run", Failure: "testdata/failure-latest.yaml", Fixed: "testdata/fixed-latest.yaml",
			Findings: []string{"container web runs nginx:latest (:latest)", "container sidecar runs registry.example:5000/team/sidecar (no tag)"}},
		{Name: "no digest reported", Failure: "testdata/failure-no-digest.yaml",
			Findings: []string{"container web runs nginx (no tag)"}, Manual: []string{"no running pod reports the digest"}},
		{Name: "pods disagree", Failure: "testdata/failure-disagree.yaml",
			Findings: []string{":latest"}, Manual: []string{"run 2 different digests"}},
		{Name: "tags and digests pass", Failure: "testdata/pass.yaml"},
	})
}
