// Package defaultdeny checks that a namespace denies ingress by default.
package defaultdeny

import (
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.RegisterNamespace(Rule{}) }

// Rule is the default-deny rule.
type Rule struct{}

const id = "default-deny"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Default-deny NetworkPolicy", Category: rules.Network, Severity: rules.Medium,
		Kinds: []string{"Namespace"},
		Why: "Per-workload NetworkPolicies protect only the pods they select; a new workload without one is " +
			"open to the whole cluster. A default-deny policy makes isolation the default.",
		Remediation: "Create a NetworkPolicy with an empty podSelector and policyTypes [Ingress] and no rules, " +
			"then admit traffic per workload (kubectl harden --fix=network-policy).",
	}
}

// Check reports a namespace without an ingress default-deny policy.
func (r Rule) Check(ns *inspect.NamespaceSnapshot) []rules.Finding {
	for _, np := range ns.NetworkPolicies {
		if len(np.Spec.PodSelector.MatchLabels) > 0 || len(np.Spec.PodSelector.MatchExpressions) > 0 || len(np.Spec.Ingress) > 0 {
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			if t == "Ingress" {
				return nil
			}
		}
	}
	return []rules.Finding{{Message: "no default-deny NetworkPolicy: pods no policy selects accept traffic from the whole cluster",
		NeedsHuman: "create a NetworkPolicy with podSelector: {} and policyTypes: [Ingress], then admit traffic per workload"}}
}
