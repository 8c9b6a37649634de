package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// The closing hint offers only what a --fix would plan: not-selected
// findings, with opt-in rules apart; never a finding that needs a human,
// one --skip left out, or one already planned.
func TestSuggestions(t *testing.T) {
	res := func(rule string, st rules.Status, reason, optIn string) rules.Result {
		return rules.Result{Finding: rules.Finding{Rule: rule, OptIn: optIn}, Status: st, Reason: reason}
	}
	for _, tc := range []struct {
		name           string
		findings       []rules.Result
		fixable, named []string
	}{
		{"not selected", []rules.Result{
			res("pdb", rules.StatusNotSelected, "not selected for fixing (--fix=pdb)", ""),
			res("pdb", rules.StatusNotSelected, "not selected for fixing (--fix=pdb)", ""),
			res("capabilities", rules.StatusNotSelected, "not selected for fixing: --fix=all fixes it; …", ""),
		}, []string{"pdb", "capabilities"}, nil},
		// worker: no Service, so network-policy needs a human whatever is chosen.
		{"needs a human", []rules.Result{
			res("network-policy", rules.StatusNeedsHuman, "no Service sends traffic to the pods", ""),
			res("resources", rules.StatusNeedsHuman, "no usage data", ""),
			res("rollout", rules.StatusNotSelected, "not selected for fixing (--fix=rollout)", ""),
		}, []string{"rollout"}, nil},
		{"skipped by --skip", []rules.Result{res("pdb", rules.StatusSkipped, "skipped by --skip", "")}, nil, nil},
		{"planned and conflict", []rules.Result{
			res("pdb", rules.StatusPlanned, "", ""), res("replicas", rules.StatusConflict, "owned by kubectl", ""),
		}, nil, nil},
		{"opt-in", []rules.Result{
			res("read-only-root-fs", rules.StatusSkipped, "fixed only when named…", "fixed only when named…"),
			res("run-as-non-root", rules.StatusNotSelected, "not selected for fixing: runs as root today…", "runs as root today"),
			res("privileged", rules.StatusSkipped, "skipped by --skip", "what it is used for fails"),
			res("seccomp", rules.StatusNotSelected, "not selected for fixing (--fix=seccomp)", ""),
		}, []string{"seccomp"}, []string{"read-only-root-fs", "run-as-non-root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixable, named := suggestions(tc.findings)
			if !slices.Equal(fixable, tc.fixable) || !slices.Equal(named, tc.named) {
				t.Errorf("suggestions: fixable %q, named %q; want %q, %q", fixable, named, tc.fixable, tc.named)
			}
		})
	}
}

// A plan left unapplied says why, and never asks for --yes where --yes
// would apply nothing (a dry run).
func TestApplyHint(t *testing.T) {
	for _, tc := range []struct {
		dryRun string
		yes    bool
		want   string
	}{
		{"none", false, "to apply: add --yes"},
		{"server", false, "--dry-run=server: the API server accepted the plan; nothing was applied"},
		{"server", true, "--dry-run=server: the API server accepted the plan; nothing was applied"},
		{"client", true, "--dry-run=client: planned without asking the API server; nothing was applied"},
		{"client", false, "--dry-run=client: planned without asking the API server; nothing was applied"},
	} {
		got := applyHint(tc.dryRun, tc.yes)
		if got != tc.want {
			t.Errorf("applyHint(%s, %v) = %q, want %q", tc.dryRun, tc.yes, got, tc.want)
		}
		if tc.dryRun != "none" && strings.Contains(got, "--yes") {
			t.Errorf("applyHint(%s, %v) asks for --yes: %q", tc.dryRun, tc.yes, got)
		}
	}
}
