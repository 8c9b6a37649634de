package startupprobe

import (
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "observed slow start sizes the budget", Failure: "testdata/failure-slow.yaml", Fixed: "testdata/fixed-slow.yaml",
			Findings: []string{"pods took up to 1m30s to become ready, more than the 30s its livenessProbe allows"}},
		{Name: "initialDelaySeconds instead of a startup probe", Failure: "testdata/failure-delay.yaml", Fixed: "testdata/fixed-delay.yaml",
			Findings: []string{"waits a fixed initialDelaySeconds 60"}},
		{Name: "budget parameter", Failure: "testdata/failure-delay.yaml", Fixed: "testdata/fixed-budget.yaml",
			Findings: []string{"initialDelaySeconds 60"}, Params: rules.Params{"budget": "300"}},
		{Name: "the liveness tolerance is kept", Failure: "testdata/failure-tolerance.yaml", Fixed: "testdata/fixed-tolerance.yaml",
			Findings: []string{"initialDelaySeconds 20"}},
		{Name: "the copied check keeps its timeout", Failure: "testdata/failure-timeout.yaml", Fixed: "testdata/fixed-timeout.yaml",
			Findings: []string{"initialDelaySeconds 10"}},
		{Name: "cassandra from the corpus", Failure: "testdata/failure-cassandra.yaml", Fixed: "testdata/fixed-cassandra.yaml",
			Findings: []string{"container cassandra: livenessProbe waits a fixed initialDelaySeconds 15"}},
		{Name: "a budget below the tolerance is written as asked", Failure: "testdata/failure-tolerance.yaml", Fixed: "testdata/fixed-tolerance-low.yaml",
			Findings: []string{"initialDelaySeconds 20"}, Params: rules.Params{"budget": "30"}},
		{Name: "fast start passes", Failure: "testdata/pass.yaml"},
	})
}

// fix runs the rule's fix for the fixture's first finding.
func fix(t *testing.T, file string, p rules.Params) *rules.Fix {
	t.Helper()
	s := rulestest.Load(t, file)
	findings := Rule{}.Check(s)
	if len(findings) == 0 {
		t.Fatalf("%s: no finding", file)
	}
	f, err := Rule{}.Fix(s, findings[0], p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The description gives each number and where it comes from; a budget
// below what the container had is warned about, never silent.
func TestDescriptionSaysWhereNumbersComeFrom(t *testing.T) {
	for _, tc := range []struct {
		file   string
		params rules.Params
		want   []string
		warn   string
	}{
		{file: "testdata/failure-tolerance.yaml", want: []string{
			"start-up budget 65 s (failureThreshold 13 × periodSeconds 5 s) ≥ liveness tolerance 65 s (initialDelaySeconds 20 + 3 × 15 s), ≥ 2 × livenessProbe initialDelaySeconds 20, ≥ minimum 30 s (no start observed)",
			"the livenessProbe's handler, timeoutSeconds 1 (Kubernetes' default)"}},
		{file: "testdata/failure-slow.yaml", want: []string{
			"start-up budget 180 s (failureThreshold 36 × periodSeconds 5 s) ≥ 2 × slowest observed start 1m30s, ≥ liveness tolerance 30 s (3 × 10 s), ≥ minimum 30 s;"}},
		{file: "testdata/failure-timeout.yaml", want: []string{"timeoutSeconds 10 (the livenessProbe's)",
			"≥ liveness tolerance 100 s (initialDelaySeconds 10 + 3 × 30 s)"}},
		{file: "testdata/failure-cassandra.yaml", want: []string{"start-up budget 45 s (failureThreshold 9 × periodSeconds 5 s) ≥ liveness tolerance 45 s", "timeoutSeconds 5 (the livenessProbe's)"}},
		{file: "testdata/failure-tolerance.yaml", params: rules.Params{"budget": "30"},
			want: []string{"start-up budget 30 s (failureThreshold 6 × periodSeconds 5 s) from --set startup-probe.budget (no start observed)"},
			warn: "container api: the start-up budget 30 s is below the liveness tolerance 65 s (initialDelaySeconds 20 + 3 × 15 s)"},
		{file: "testdata/failure-tolerance.yaml", params: rules.Params{"port": "http"},
			want: []string{"tcpSocket on port http (given by --set startup-probe.port)"}},
	} {
		f := fix(t, tc.file, tc.params)
		for _, w := range tc.want {
			if !strings.Contains(f.Description, w) {
				t.Errorf("%s %v: description %q lacks %q", tc.file, tc.params, f.Description, w)
			}
		}
		if got := strings.Join(f.Warnings, "\n"); tc.warn == "" && got != "" || !strings.Contains(got, tc.warn) {
			t.Errorf("%s %v: warnings %q, want %q", tc.file, tc.params, got, tc.warn)
		}
	}
}

// A port parameter the container does not declare is refused.
func TestUndeclaredPortRefused(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-tolerance.yaml")
	_, err := Rule{}.Fix(s, Rule{}.Check(s)[0], rules.Params{"port": "9090"})
	if err == nil || !strings.Contains(err.Error(), `container api declares no TCP port "9090": it declares http 8080`) {
		t.Errorf("error %v", err)
	}
}

// The Cassandra fixture is the corpus's StatefulSet and Service, as
// published (when the corpus is checked out beside the repository).
func TestCassandraCopy(t *testing.T) {
	const corpus = "../../../shared/corpus/cassandra/"
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("no corpus beside the repository: %v", err)
	}
	want := append(docs(t, corpus+"cassandra-statefulset.yaml")[:1], docs(t, corpus+"cassandra-service.yaml")...)
	if got := docs(t, "testdata/failure-cassandra.yaml"); !reflect.DeepEqual(got, want) {
		t.Errorf("testdata/failure-cassandra.yaml differs from the corpus:\n%v\nwant\n%v", got, want)
	}
}

// docs decodes a multi-document YAML file.
func docs(t *testing.T, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []map[string]any
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if err == io.EOF {
				return out
			}
			t.Fatal(err)
		}
		out = append(out, m)
	}
}
