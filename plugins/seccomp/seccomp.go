// Package seccomp requires the RuntimeDefault seccomp profile.
package seccomp

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the seccomp rule.
type Rule struct{}

const id = "seccomp"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Seccomp RuntimeDefault", Category: rules.Security, Severity: rules.Medium,
		Kinds: pss.Kinds,
		Why: "Without a seccomp profile a container may call every system call of the node's kernel, the " +
			"attack surface of most container escapes. The runtime's default profile blocks the dangerous " +
			"few and breaks almost nothing; Pod Security Standards restricted requires a profile.",
		Remediation: "Set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod. Containers that " +
			"set Unconfined themselves are left to a human.",
		Fixable: true,
	}
}

// Check reports missing or unconfined profiles, as Pod Security Standards do.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, v := range pss.Find(s, "seccompProfile_restricted", "seccompProfile_baseline") {
		f := rules.Finding{Field: "securityContext.seccompProfile",
			Message: "Pod Security Standards (" + string(v.Level) + "): " + v.Message()}
		if unconfined(s) != "" {
			f.NeedsHuman = "container " + unconfined(s) + " asks for an Unconfined seccomp profile: only its owner can say it can do without"
		}
		out = append(out, f)
		break // both levels say the same of one pod: one finding
	}
	return out
}

func unconfined(s *inspect.Snapshot) string {
	for _, c := range rules.Containers(s) {
		if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			return c.Name
		}
	}
	return ""
}

// Fix sets the pod's profile to RuntimeDefault.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, _ rules.Params) (*rules.Fix, error) {
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, map[string]any{"type": "RuntimeDefault"}, append(rules.PodSpecPath(s.Workload), "securityContext", "seccompProfile")...)
	return &rules.Fix{Description: "use the RuntimeDefault seccomp profile", Changes: []rules.Change{{Object: obj}}}, nil
}
