// Package serviceaccounttoken stops mounting API tokens pods never use,
// and reports pods running as the namespace's default ServiceAccount.
package serviceaccounttoken

import (
	"fmt"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the service-account-token rule.
type Rule struct{}

const id = "service-account-token"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "No unused API token", Category: rules.Security, Severity: rules.Medium,
		Kinds: pss.Kinds,
		Why: "Every pod gets a token for the Kubernetes API unless told otherwise. When no RoleBinding or " +
			"ClusterRoleBinding grants its ServiceAccount anything, the app does not use it — but an " +
			"attacker in the pod can, to explore the cluster. Pods sharing the namespace's default " +
			"ServiceAccount also share whatever someone later grants it.",
		Remediation: "Set automountServiceAccountToken: false on the pod template when its ServiceAccount has " +
			"no bindings (read live); give each workload its own ServiceAccount.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "ignore-check.kube-linter.io/default-service-account"}},
	}
}

// Check reports a mounted token nothing grants rights to, and the use of
// the default ServiceAccount.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	sa := s.ServiceAccountName()
	mounted := true
	if v := s.Workload.PodTemplate().Spec.AutomountServiceAccountToken; v != nil {
		mounted = *v
	} else if s.ServiceAccount != nil && s.ServiceAccount.AutomountServiceAccountToken != nil {
		mounted = *s.ServiceAccount.AutomountServiceAccountToken
	}
	if mounted && !s.ServiceAccountBound() {
		f := rules.Finding{Field: "automountServiceAccountToken",
			Message: fmt.Sprintf("pods mount an API token for ServiceAccount %s, which no RoleBinding or ClusterRoleBinding names", sa)}
		if unknown := unreadEvidence(s); unknown != "" {
			// Not seeing a binding is no proof there is none: taking the
			// token away could break an app that uses its rights.
			f.Message = fmt.Sprintf("pods mount an API token for ServiceAccount %s; whether a binding grants it rights is unknown (%s)", sa, unknown)
			f.NeedsHuman = fmt.Sprintf("kubectl auth can-i --list --as=system:serviceaccount:%s:%s; if it has no rights, set automountServiceAccountToken: false",
				s.Workload.Namespace(), sa)
		}
		out = append(out, f)
	}
	if sa == "default" {
		out = append(out, rules.Finding{Severity: rules.Low, Field: "serviceAccountName",
			Message:    "pods run as the namespace's default ServiceAccount, shared with every other workload there",
			NeedsHuman: "create a ServiceAccount for this workload and set serviceAccountName"})
	}
	return out
}

// unreadEvidence names the reads the decision lacks — the RBAC bindings,
// and the ServiceAccount when the template does not say whether the token
// is mounted — e.g. "RBAC bindings unknown: rolebindings,
// clusterrolebindings forbidden"; "" when every one was read.
func unreadEvidence(s *inspect.Snapshot) string {
	var refused []string
	reason := ""
	for _, res := range []string{inspect.ResRoleBindings, inspect.ResClusterRoleBindings, inspect.ResServiceAccounts} {
		if res == inspect.ResServiceAccounts && s.Workload.PodTemplate().Spec.AutomountServiceAccountToken != nil {
			continue
		}
		if u, ok := s.Unknown(res); ok {
			refused, reason = append(refused, u.Resource), u.Reason
		}
	}
	if len(refused) == 0 {
		return ""
	}
	return "RBAC bindings unknown: " + strings.Join(refused, ", ") + " " + reason
}

// Fix stops mounting the token.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, _ rules.Params) (*rules.Fix, error) {
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, false, append(rules.PodSpecPath(s.Workload), "automountServiceAccountToken")...)
	return &rules.Fix{Description: "stop mounting the unused API token", Changes: []rules.Change{{Object: obj}},
		Warnings: []string{"an app that calls the Kubernetes API without any granted rights (e.g. for discovery) loses its token"}}, nil
}
