// Package podsecuritylabels recommends the strictest Pod Security Admission level
// a namespace's running pods already satisfy.
package podsecuritylabels

import (
	"fmt"

	"k8s.io/pod-security-admission/api"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.RegisterNamespace(Rule{}) }

// Rule is the pod-security-labels rule.
type Rule struct{}

const id = "pod-security-labels"

// EnforceLabel is Pod Security Admission's enforce label.
const EnforceLabel = "pod-security.kubernetes.io/enforce"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Pod Security Admission level", Category: rules.Security, Severity: rules.Medium,
		Kinds: []string{"Namespace"},
		Why: "Without a pod-security.kubernetes.io/enforce label a namespace admits privileged pods: hardening " +
			"its workloads today does not stop the next deployment from undoing it. Enforcing the strictest " +
			"level its pods already meet locks the gains in at no risk.",
		Remediation: "Label the namespace with the strictest level its running pods satisfy (harden checks it " +
			"with the API server's own dry-run): kubectl label ns NAME pod-security.kubernetes.io/enforce=LEVEL.",
	}
}

var order = []api.Level{api.LevelRestricted, api.LevelBaseline, api.LevelPrivileged}

func rank(l api.Level) int {
	for i, o := range order {
		if o == l {
			return len(order) - i
		}
	}
	return 0
}

// Strictest is the strictest level every running pod, and every pod the
// workloads' templates will make, satisfies.
func Strictest(ns *inspect.NamespaceSnapshot) api.Level {
	for _, level := range order {
		ok := true
		for i := range ns.Templates {
			if !pss.Satisfies(&ns.Templates[i].ObjectMeta, &ns.Templates[i].Spec, level) {
				ok = false
				break
			}
		}
		for i := 0; ok && i < len(ns.Pods); i++ {
			p := &ns.Pods[i]
			if p.DeletionTimestamp != nil || p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" {
				continue
			}
			if !pss.Satisfies(&p.ObjectMeta, &p.Spec, level) {
				ok = false
				break
			}
		}
		if ok {
			return level
		}
	}
	return api.LevelPrivileged
}

// Check compares the enforce label with what the pods allow.
func (r Rule) Check(ns *inspect.NamespaceSnapshot) []rules.Finding {
	best := Strictest(ns)
	current, labelled := ns.Namespace.Labels[EnforceLabel]
	cmd := fmt.Sprintf("kubectl label ns %s %s=%s", ns.Namespace.Name, EnforceLabel, best)
	f := rules.Finding{Field: EnforceLabel + "=" + string(best), NeedsHuman: cmd}
	if u, unknown := inspect.FindUnread(ns.Unread, inspect.ResNamespaces); unknown && u.Verb == "get" {
		// The namespace could not be read: its labels are unknown.
		f.Severity = rules.Low
		f.Message = fmt.Sprintf("the namespace's %s label is unknown (namespace labels unknown: namespaces %s); all its pods and pod templates satisfy %s", EnforceLabel, u.Reason, best)
		f.NeedsHuman = fmt.Sprintf("check with kubectl get ns %s --show-labels, then %s if it enforces less", ns.Namespace.Name, cmd)
		return []rules.Finding{f}
	}
	switch {
	case !labelled && best != api.LevelPrivileged:
		f.Severity = rules.Medium
		f.Message = fmt.Sprintf("no %s label: the namespace admits privileged pods, while all its pods and pod templates already satisfy %s", EnforceLabel, best)
	case !labelled:
		f.Severity = rules.Medium
		f.Message = fmt.Sprintf("no %s label, and some pods need privileged: harden them first, then enforce baseline or restricted", EnforceLabel)
		f.NeedsHuman = "harden the workloads (kubectl harden audit --fix=security), then label the namespace"
	case rank(api.Level(current)) < rank(best):
		f.Severity = rules.Low
		f.Message = fmt.Sprintf("enforces %s, while all its pods already satisfy %s", current, best)
	default:
		return nil
	}
	return []rules.Finding{f}
}
