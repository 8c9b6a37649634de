package readonlyrootfs

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "writable roots; /tmp mounted only where missing", Failure: "testdata/failure-writable.yaml", Fixed: "testdata/fixed-writable.yaml",
			Findings: []string{"containers web, sidecar can write to their root filesystem"}},
		{Name: "read-only passes", Failure: "testdata/pass.yaml"},
	})
}

// A read-only root is a choice made knowingly: --fix=all and
// --fix=security skip it with the reason; naming the rule, alone or
// beside all, plans the fix as it was.
func TestOptIn(t *testing.T) {
	for _, tc := range []struct {
		fix    []string
		status rules.Status
	}{
		{[]string{"all"}, rules.StatusSkipped},
		{[]string{"security"}, rules.StatusSkipped},
		{[]string{"all", id}, rules.StatusPlanned},
		{[]string{id}, rules.StatusPlanned},
	} {
		r := rulestest.Result(t, rules.Selection{Fix: tc.fix}, id, "testdata/failure-writable.yaml")
		if r.Status != tc.status {
			t.Errorf("--fix=%s: %s (%s), want %s", strings.Join(tc.fix, ","), r.Status, r.Reason, tc.status)
		}
		want := "a write outside /tmp and the container's volumes (caches, uploads, PID and lock files) fails at runtime, " +
			"after the rollout watch: first mount an emptyDir at each other path the app writes to; name it to apply: --fix=read-only-root-fs"
		if r.Status == rules.StatusSkipped && r.Reason != want {
			t.Errorf("--fix=%s: reason %q", strings.Join(tc.fix, ","), r.Reason)
		}
		if r.Status == rules.StatusPlanned && !strings.Contains(strings.Join(r.Fix.Warnings, ""), "at runtime: the rollout watch only catches a failed start") {
			t.Errorf("the fix does not warn: %q", r.Fix.Warnings)
		}
	}
}
