// Package capabilities requires containers to drop every Linux capability
// and reports the ones they add.
package capabilities

import (
	"fmt"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the capabilities rule.
type Rule struct{}

const id = "capabilities"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Drop all capabilities", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "Containers start with a default set of Linux capabilities (NET_RAW, CHOWN, SETUID…) that most " +
			"apps never use and attackers do; added ones such as NET_ADMIN or SYS_ADMIN reach into the node. " +
			"Pod Security Standards restricted requires dropping ALL and adding back at most NET_BIND_SERVICE.",
		Remediation: "Set securityContext.capabilities.drop: [ALL] on every container. Capabilities a container " +
			"adds are reported for a human: only the app's owner knows which one it really needs.",
		Fixable:  true,
		OptOuts:  []rules.OptOut{{Annotation: "polaris.fairwinds.com/dangerousCapabilities-exempt"}, {Annotation: "polaris.fairwinds.com/insecureCapabilities-exempt"}},
		FixOrder: -4,
	}
}

// Check reports containers that do not drop ALL (fixable) and those that
// add capabilities beyond NET_BIND_SERVICE (for a human).
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	if v := pss.Find(s, "capabilities_restricted"); len(v) > 0 && len(undropped(s)) > 0 {
		out = append(out, rules.Finding{Rule: id, Severity: rules.High, Category: rules.Security, Field: "securityContext.capabilities.drop",
			Message: fmt.Sprintf("containers %s keep the default capabilities: drop ALL", strings.Join(undropped(s), ", "))})
	}
	for _, c := range pss.Containers(s) {
		var added []string
		if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
			for _, a := range sc.Capabilities.Add {
				if name := strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_"); name != "NET_BIND_SERVICE" {
					added = append(added, name)
				}
			}
		}
		if len(added) > 0 {
			out = append(out, rules.Finding{Rule: id, Severity: rules.High, Category: rules.Security, Container: c.Name, Field: "securityContext.capabilities.add",
				Message: fmt.Sprintf("container %s adds %s", c.Name, strings.Join(added, ", ")),
				Manual:  "remove the capabilities the app does not need from securityContext.capabilities.add (only NET_BIND_SERVICE passes restricted)"})
		}
	}
	return out
}

// undropped lists the containers that do not drop ALL.
func undropped(s *inspect.Snapshot) []string {
	var names []string
	for _, c := range pss.Containers(s) {
		dropsAll := false
		if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
			for _, d := range sc.Capabilities.Drop {
				dropsAll = dropsAll || strings.EqualFold(string(d), "ALL")
			}
		}
		if !dropsAll {
			names = append(names, c.Name)
		}
	}
	return names
}

// Fix sets drop: [ALL] where it is missing.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, _ rules.Params) (*rules.Fix, error) {
	todo := undropped(s)
	change, names, ok := pss.SecurityContextChange(s, func(c pss.Container) map[string]any {
		for _, n := range todo {
			if n == c.Name {
				return map[string]any{"capabilities": map[string]any{"drop": []any{"ALL"}}}
			}
		}
		return nil
	})
	if !ok {
		return nil, nil
	}
	return &rules.Fix{Description: "drop ALL capabilities in " + strings.Join(names, ", "), Changes: []rules.Change{change}}, nil
}
