package resources

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "guesses, keeping what is set", Failure: "testdata/failure-guess.yaml", Fixed: "testdata/fixed-guess.yaml",
			Findings: []string{"container web has no requests.memory, limits.memory"}},
		{Name: "LimitRange defaults", Failure: "testdata/failure-limitrange.yaml", Fixed: "testdata/fixed-limitrange.yaml",
			Findings: []string{"container web has no requests.cpu, requests.memory, limits.memory"}},
		{Name: "parameters", Failure: "testdata/failure-limitrange.yaml", Fixed: "testdata/fixed-params.yaml",
			Findings: []string{"has no requests.cpu"}, Params: rules.Params{"cpu": "1", "memory": "1Gi", "memory-limit": "2Gi"}},
		{Name: "OOMKilled under its limit", Failure: "testdata/failure-oom.yaml", Fixed: "testdata/fixed-oom.yaml",
			Findings: []string{"container web was OOMKilled under its memory limit of 64Mi"}},
		{Name: "sized passes", Failure: "testdata/pass.yaml"},
	})
}

// Observed usage sizes the requests, with headroom.
func TestSizedFromMetrics(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
	s.Usage = map[string]map[string]inspect.ContainerUsage{"web-1": {"web": {CPUMilli: 200, MemoryBytes: 100 << 20}}, "web-2": {"web": {CPUMilli: 100, MemoryBytes: 300 << 20}}}
	fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	got := rulestest.YAML(fix.Changes[0].Object)
	for _, want := range []string{"cpu: 240m", "memory: 360Mi", "memory: 720Mi", "from observed usage"} {
		if !strings.Contains(got+fix.Description, want) {
			t.Errorf("missing %q in\n%s\n%s", want, got, fix.Description)
		}
	}
}
