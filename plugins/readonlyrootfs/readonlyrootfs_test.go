package readonlyrootfs

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "writable roots; /tmp mounted only where missing", Failure: "testdata/failure-writable.yaml", Fixed: "testdata/fixed-writable.yaml",
			Findings: []string{"containers web, sidecar can write to their root filesystem"}},
		{Name: "read-only passes", Failure: "testdata/pass.yaml"},
	})
}
