package job

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "unbounded job", Failure: "testdata/failure-job.yaml", Fixed: "testdata/fixed-job.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"}},
		{Name: "unbounded cronjob", Failure: "testdata/failure-cronjob.yaml", Fixed: "testdata/fixed-cronjob.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no backoffLimit", "concurrencyPolicy Allow", "no startingDeadlineSeconds"}},
		{Name: "parameters", Failure: "testdata/failure-job.yaml", Fixed: "testdata/fixed-params.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"}, Params: rules.Params{"active-deadline": "120", "ttl": "60"}},
		{Name: "bounded cronjob passes", Failure: "testdata/pass.yaml"},
	})
}
