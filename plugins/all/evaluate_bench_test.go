package all

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// fixtureSnapshots are the workloads of every plugin's failure fixtures: a
// mix of kinds, each with something to find (133 workloads).
func fixtureSnapshots(b *testing.B) []*inspect.Snapshot {
	return rulestest.WorkloadFixtures(b, "../*/testdata/failure*.yaml")
}

// BenchmarkEvaluate is the CPU an audit spends per workload on the rules:
// every rule's check and, for each finding, its fix tried alone and with
// --fix=all (so that needs-human never depends on the selection). One op
// evaluates every fixture workload once; ns/workload is the figure to
// compare with the audit's wall time per workload (README, Benchmark).
//
//	go test -run '^$' -bench Evaluate -benchmem ./plugins/all/
func BenchmarkEvaluate(b *testing.B) {
	snaps := fixtureSnapshots(b)
	for _, bc := range []struct {
		name string
		sel  rules.Selection
	}{
		{"audit", rules.Selection{}},
		{"fix=all", rules.Selection{Fix: []string{"all"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range snaps {
					if _, err := rules.Evaluate(s, bc.sel); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(snaps)), "ns/workload")
		})
	}
}
