// Package privileged flags privileged containers.
package privileged

import (
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
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
			"instead (e.g. NET_ADMIN for iptables, SYS_MODULE for kernel modules, SYS_ADMIN for mounts; a device " +
			"through a device plugin). Node agents that truly need privilege belong in a namespace labelled for it. " +
			"What a container used privilege for fails only when first used, at runtime, after the rollout watch: " +
			"the fix is planned only when the rule is named (--fix=privileged), never by --fix=all or --fix=security.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/runAsPrivileged-exempt"}, {Annotation: "ignore-check.kube-linter.io/privileged-container"},
			{Annotation: "kube-score/ignore", Value: "container-security-context-privileged"}},
		FixOrder: -5, // before privilege-escalation, which privileged containers block
	}
}

// Check reports privileged containers, as Pod Security Standards do.
// Taking privilege away breaks what a container uses it for (host devices,
// kernel modules, iptables, mounts) when it first does so, at runtime —
// often after the rollout watch: the finding is opt-in
// (rules.Finding.OptIn), fixed only when the rule is named, and says what
// to grant instead. The message is the Pod Security Standards check alone:
// the OptIn reason, shown after it when not applied, says which containers
// run privileged today, so the report says it once.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, v := range pss.Find(s, "privileged") {
		names := privileged(s)
		out = append(out, rules.Finding{Message: "Pod Security Standards (baseline): " + v.Message(),
			Field: "securityContext.privileged", OptIn: risk(s, names)})
	}
	return out
}

// privileged lists the containers that set privileged: true.
func privileged(s *inspect.Snapshot) []rules.Container {
	var out []rules.Container
	for _, c := range rules.Containers(s) {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			out = append(out, c)
		}
	}
	return out
}

// today says which containers run privileged, e.g. "containers init, web
// run privileged today".
func today(cs []rules.Container) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if len(names) == 1 {
		return "container " + names[0] + " runs privileged today"
	}
	return "containers " + strings.Join(names, ", ") + " run privileged today"
}

// risk is why dropping privilege is a choice to make knowingly, with what
// to grant instead: for each container seen using privilege for something
// (usesOf), the narrower grant; for the others, the usual ones.
func risk(s *inspect.Snapshot, cs []rules.Container) string {
	hostPaths := map[string]string{}
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	var seen []string
	unknown := 0
	for _, c := range cs {
		uses := usesOf(c, hostPaths)
		if len(uses) == 0 {
			unknown++
		}
		for _, u := range uses {
			seen = append(seen, "container "+c.Name+" uses "+u.What+": grant "+u.Instead)
		}
	}
	out := today(cs) + ": without it, what needs privilege (host devices, kernel modules, iptables, mounts) fails when " +
		"first used, at runtime — the rollout watch only catches a failed start"
	if len(seen) > 0 {
		out += "; " + strings.Join(seen, "; ")
	}
	if unknown > 0 {
		out += "; grant the one capability it needs instead (e.g. NET_ADMIN for iptables, SYS_MODULE for kernel modules, " +
			"SYS_ADMIN for mounts)"
	}
	return out
}

// Fix sets privileged: false on each privileged container.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, _ rules.Params) (*rules.Fix, error) {
	change, names, ok := pss.SecurityContextChange(s, func(c rules.Container) map[string]any {
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
		Warnings: []string{"what " + strings.Join(names, ", ") + " used privilege for (host devices, kernel modules, iptables, mounts) " +
			"fails when first used, at runtime: the rollout watch only catches a failed start"},
	}, nil
}
