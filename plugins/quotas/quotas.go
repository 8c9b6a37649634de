// Package quotas checks that a namespace has a ResourceQuota and a
// LimitRange.
package quotas

import (
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.RegisterNamespace(Rule{}) }

// Rule is the quotas rule.
type Rule struct{}

const id = "quotas"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "ResourceQuota and LimitRange", Category: rules.Resources, Severity: rules.Low,
		Kinds: []string{"Namespace"},
		Why: "Without a ResourceQuota one namespace's runaway deployment can take the cluster's capacity; " +
			"without a LimitRange containers that set no requests get none and are evicted first.",
		Remediation: "Give each team namespace a ResourceQuota sized to its share, and a LimitRange with " +
			"defaultRequest and default limits for containers that set none.",
	}
}

// Check reports what is missing.
func (r Rule) Check(ns *inspect.NamespaceSnapshot) []rules.Finding {
	var out []rules.Finding
	if len(ns.ResourceQuotas) == 0 {
		out = append(out, rules.Finding{Field: "resourcequota",
			Message: "no ResourceQuota: nothing bounds what the namespace may consume", NeedsHuman: "create a ResourceQuota for the namespace"})
	}
	if len(ns.LimitRanges) == 0 {
		out = append(out, rules.Finding{Field: "limitrange",
			Message: "no LimitRange: containers without requests get none", NeedsHuman: "create a LimitRange with default requests and limits"})
	}
	return out
}
