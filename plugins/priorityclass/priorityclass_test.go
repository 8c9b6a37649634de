package priorityclass

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "only class is the default", Failure: "testdata/failure-one-class.yaml", Fixed: "testdata/fixed-one-class.yaml",
			Findings: []string{"no priorityClassName while the cluster defines business-critical"}},
		{Name: "several classes need a choice", Failure: "testdata/failure-two-classes.yaml",
			Findings: []string{"defines batch, business-critical"}, NeedsHuman: []string{"choose one of batch, business-critical"}},
		{Name: "chosen by parameter", Failure: "testdata/failure-two-classes.yaml", Fixed: "testdata/fixed-two-classes.yaml",
			Findings: []string{"defines batch"}, Params: rules.Params{"name": "batch"}},
		{Name: "dangling name", Failure: "testdata/failure-dangling.yaml",
			Findings: []string{"priorityClassName gold does not exist"}, NeedsHuman: []string{"create PriorityClass gold"}},
		{Name: "only system classes pass", Failure: "testdata/pass-system-only.yaml"},
	})
}

func TestUnknownClassRefused(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-two-classes.yaml")
	if _, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], rules.Params{"name": "platinum"}); err == nil {
		t.Error("a class that does not exist must be refused")
	}
}
