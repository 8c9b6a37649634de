// Package privilegeescalation requires allowPrivilegeEscalation: false.
package privilegeescalation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the privilege-escalation rule.
type Rule struct{}

const id = "privilege-escalation"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "No privilege escalation", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "Unless allowPrivilegeEscalation is false, a process can gain more privileges than its parent " +
			"through setuid binaries or file capabilities: an attacker inside the container becomes root. " +
			"Pod Security Standards restricted requires it to be false.",
		Remediation: "Set securityContext.allowPrivilegeEscalation: false on every container. The API refuses " +
			"it with privileged: true or the SYS_ADMIN capability: remove those first.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/privilegeEscalationAllowed-exempt"}, {Annotation: "ignore-check.kube-linter.io/privilege-escalation-container"}},
	}
}

// Check reports the violation as Pod Security Standards word it.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, v := range pss.Find(s, "allowPrivilegeEscalation") {
		out = append(out, rules.Finding{Message: "Pod Security Standards (restricted): " + v.Message(), Field: "securityContext.allowPrivilegeEscalation"})
	}
	return out
}

// blocked says why the API would refuse allowPrivilegeEscalation: false.
func blocked(c *corev1.Container) string {
	sc := c.SecurityContext
	if sc == nil {
		return ""
	}
	if sc.Privileged != nil && *sc.Privileged {
		return "privileged"
	}
	if sc.Capabilities != nil {
		for _, a := range sc.Capabilities.Add {
			if strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_") == "SYS_ADMIN" {
				return "adds SYS_ADMIN"
			}
		}
	}
	return ""
}

// Fix sets allowPrivilegeEscalation: false where the API allows it.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, _ rules.Params) (*rules.Fix, error) {
	var stuck []string
	change, names, ok := pss.SecurityContextChange(s, func(c rules.Container) map[string]any {
		if sc := c.SecurityContext; sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			return nil
		}
		if why := blocked(c.Container); why != "" {
			stuck = append(stuck, c.Name+" ("+why+")")
			return nil
		}
		return map[string]any{"allowPrivilegeEscalation": false}
	})
	if len(stuck) > 0 {
		return nil, rules.NeedsHumanf("the API refuses allowPrivilegeEscalation: false on %s: fix privileged and capabilities first (--fix=privileged,privilege-escalation)", strings.Join(stuck, ", "))
	}
	if !ok {
		return nil, nil
	}
	return &rules.Fix{Description: "set allowPrivilegeEscalation: false on " + strings.Join(names, ", "), Changes: []rules.Change{change}}, nil
}
