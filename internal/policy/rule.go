package policy

import (
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// expiredRule gives the expired-exemption finding its metadata, so that
// reports (SARIF's rule index, the rules list, docs/rules.md) know it like
// any rule. Its findings come from Policy.Expired, which rules.Evaluate
// calls with the selection's policy: a Snapshot carries no policy, so Check
// finds nothing by itself.
type expiredRule struct{}

func init() { rules.Register(expiredRule{}) }

func (expiredRule) Meta() rules.Meta {
	return rules.Meta{
		ID:       ExpiredRule,
		Title:    "A policy file exemption has expired",
		Category: rules.PolicyFile,
		Severity: rules.Low,
		Kinds:    inspect.KindsIn(inspect.Workloads),
		Why: "An exemption in the policy file (.harden.yaml) was granted until a date that has passed. " +
			"It no longer applies, so the findings it hid are reported again; this finding says so, " +
			"with the exemption's reason, so that its owner renews it knowingly or removes it.",
		Remediation: "Fix what the exemption covered, or move its expires date with a reason that still holds, or delete it.",
	}
}

// Check finds nothing: see expiredRule.
func (expiredRule) Check(*inspect.Snapshot) []rules.Finding { return nil }

// Fix is never called: the finding is needs-human (Finding.NeedsHuman).
func (expiredRule) Fix(*inspect.Snapshot, rules.Finding, rules.Params) (*rules.Fix, error) {
	return nil, rules.NeedsHumanf("edit the policy file's exemption")
}
