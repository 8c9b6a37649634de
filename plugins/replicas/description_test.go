package replicas

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// The description gives the count and its source: the rule's default (2)
// and how to change it, or the user's --set; raising the HPA's maximum
// too is said.
func TestDescriptionSaysWhereNumbersComeFrom(t *testing.T) {
	for _, tc := range []struct {
		file   string
		params rules.Params
		want   string
	}{
		{"testdata/failure-single.yaml", nil, "set spec.replicas to 2 (the rule's default, --set replicas.count=N)"},
		{"testdata/failure-single.yaml", rules.Params{"count": "3"}, "set spec.replicas to 3 (from --set replicas.count)"},
		{"testdata/failure-hpa.yaml", nil, "to 2 (the rule's default, --set replicas.count=N)"},
		{"testdata/failure-hpa.yaml", rules.Params{"count": "7"}, "to 7 (from --set replicas.count), and maxReplicas 5 → 7 (never below minReplicas)"},
	} {
		s := rulestest.Load(t, tc.file)
		f, err := Rule{}.Fix(s, Rule{}.Check(s)[0], tc.params)
		if err != nil || !strings.Contains(f.Description, tc.want) {
			t.Errorf("%s %v: %v, description %q lacks %q", tc.file, tc.params, err, f.Description, tc.want)
		}
	}
}
