// Package privileged flags privileged containers.
package privileged

import (
	"strings"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the privileged rule.
type Rule struct{}

const id = "privileged"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "No privileged containers", Category: rules.Security, Severity: rules.Critical,
		Kinds: pss.Kinds,
		Why: "A privileged container has every capability and every device of the node: escaping it is " +
			"trivial, so a compromise of the app is a compromise of the node and of every pod on it. Pod " +
			"Security Standards baseline forbids it.",
		Remediation: "Set securityContext.privileged: false; grant the one capability the app really needs " +
			"instead. Node agents that truly need privilege belong in a namespace labelled for it.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/runAsPrivileged-exempt"}, {Annotation: "ignore-check.kube-linter.io/privileged-container"},
			{Annotation: "kube-score/ignore", Value: "container-security-context-privileged"}},
		FixOrder: -5, // before privilege-escalation, which privileged containers block
	}
}

// Check reports privileged containers, as Pod Security Standards do.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, v := range pss.Find(s, "privileged") {
		out = append(out, rules.Finding{Rule: id, Severity: rules.Critical, Category: rules.Security,
			Message: "Pod Security Standards (baseline): " + v.Message(), Field: "securityContext.privileged"})
	}
	return out
}

// Fix sets privileged: false on each privileged container.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, _ rules.Params) (*rules.Fix, error) {
	change, names, ok := pss.SecurityContextChange(s, func(c pss.Container) map[string]any {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			return map[string]any{"privileged": false}
		}
		return nil
	})
	if !ok {
		return nil, nil
	}
	return &rules.Fix{
		Description: "set privileged: false on " + strings.Join(names, ", "),
		Changes:     []rules.Change{change},
		Warnings:    []string{"a container that really uses host devices fails without privilege; the rollout watch rolls back if it does"},
	}, nil
}
