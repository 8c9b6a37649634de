package cli

import (
	"bytes"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"

	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// Under a workload's line, audit --fix says what each fix does and warns
// of, and why a finding of a chosen rule needs a human — not of the rules
// not chosen; escaped.
func TestAuditFixNotes(t *testing.T) {
	var out bytes.Buffer
	o := &AuditOptions{IOStreams: genericiooptions.IOStreams{Out: &out}, selection: rules.Selection{Fix: []string{"resources", "pdb"}}}
	o.printFixNotes([]rules.Result{
		{Finding: rules.Finding{Rule: "resources"}, Status: rules.StatusFixed,
			Fix: &rules.Fix{Description: "set requests.cpu 150m (LimitRange lr\x1b[2J defaultRequest) of container web", Warnings: []string{"one sample"}}},
		{Finding: rules.Finding{Rule: "resources"}, Status: rules.StatusNeedsHuman, Reason: "no usage data (metrics.k8s.io not served): harden guesses no memory limit"},
		{Finding: rules.Finding{Rule: "replicas"}, Status: rules.StatusNeedsHuman, Reason: "not chosen: not shown"},
		{Finding: rules.Finding{Rule: "pdb"}, Status: rules.StatusConflict, Reason: "held: the conflict line says so"},
	})
	want := "             resources: fix: set requests.cpu 150m (LimitRange lr\\x1b[2J defaultRequest) of container web\n" +
		"             resources: warning: one sample\n" +
		"             resources: needs a human: no usage data (metrics.k8s.io not served): harden guesses no memory limit\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}
