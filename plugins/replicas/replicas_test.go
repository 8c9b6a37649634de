package replicas

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "single replica", Failure: "testdata/failure-single.yaml", Fixed: "testdata/fixed-single.yaml",
			Findings: []string{"runs 1 replica"}},
		{Name: "count parameter", Failure: "testdata/failure-single.yaml", Fixed: "testdata/fixed-count3.yaml",
			Findings: []string{"runs 1 replica"}, Params: rules.Params{"count": "3"}},
		{Name: "HPA minimum raised, not spec.replicas", Failure: "testdata/failure-hpa.yaml", Fixed: "testdata/fixed-hpa.yaml",
			Findings: []string{"HorizontalPodAutoscaler web lets it scale down to 1 replica"}},
		{Name: "statefulset needs a human", Failure: "testdata/failure-statefulset.yaml",
			Findings: []string{"runs 1 replica"}, Manual: []string{"new members with their own volumes"}},
		{Name: "three replicas pass", Failure: "testdata/pass-three.yaml"},
	})
}

func TestBadCount(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-single.yaml")
	if _, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], rules.Params{"count": "1"}); err == nil {
		t.Error("count=1 must be refused")
	}
}
