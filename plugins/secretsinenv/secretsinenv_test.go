package secretsinenv

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "literal credentials", Failure: "testdata/failure-literal.yaml",
			Findings:   []string{"env DB_PASSWORD holds a literal value", "env STRIPE_API_KEY holds a literal value"},
			NeedsHuman: []string{"move DB_PASSWORD into a Secret", "move STRIPE_API_KEY into a Secret"}},
		{Name: "secret references pass", Failure: "testdata/pass.yaml"},
	})
}

// The value itself never appears in a finding.
func TestNeverPrintsTheValue(t *testing.T) {
	for _, f := range (Rule{}).Check(rulestest.Load(t, "testdata/failure-literal.yaml")) {
		if strings.Contains(f.Message+f.NeedsHuman, "hunter2") || strings.Contains(f.Message+f.NeedsHuman, "sk_live") {
			t.Errorf("finding leaks the secret: %+v", f)
		}
	}
}
