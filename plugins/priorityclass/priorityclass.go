// Package priorityclass checks that workloads say how important they are
// when the cluster defines priority classes.
package priorityclass

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the priority-class rule.
type Rule struct{}

const id = "priority-class"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Priority class", Category: rules.Availability, Severity: rules.Low,
		Kinds: inspect.KindsIn(inspect.RolledOut),
		Why: "When a cluster is full the scheduler preempts lower-priority pods first. A workload with no " +
			"priorityClassName, in a cluster whose operators defined classes, competes at priority 0 and is " +
			"among the first evicted; one naming a class that does not exist cannot create pods at all.",
		Remediation: "Set priorityClassName to one of the cluster's classes (harden never invents one: " +
			"--set priority-class.name=NAME, defaulting to the only non-system class when there is one).",
		Fixable: true,
		Params:  []rules.Param{{Name: "name", Description: "an existing PriorityClass; default the cluster's only non-system class"}},
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/priorityClassNotSet-exempt"}, {Annotation: "ignore-check.kube-linter.io/priority-class-name"}},
	}
}

// classes are the cluster's non-system PriorityClasses, and whether one
// is the global default (pods without a name then get it).
func classes(s *inspect.Snapshot) (names []string, globalDefault bool) {
	for _, pc := range s.Cluster.PriorityClasses {
		if strings.HasPrefix(pc.Name, "system-") {
			continue
		}
		names = append(names, pc.Name)
		globalDefault = globalDefault || pc.GlobalDefault
	}
	sort.Strings(names)
	return names, globalDefault
}

// Check reports a missing or dangling priorityClassName. When the
// cluster's PriorityClasses could not be listed it cannot decide, and says
// so in a finding that needs a human.
func (Rule) Check(s *inspect.Snapshot) []rules.Finding {
	name := s.Workload.PodTemplate().Spec.PriorityClassName
	if u, unknown := s.Unknown(inspect.ResPriorityClasses); unknown {
		return []rules.Finding{unknownClasses(name, u)}
	}
	names, globalDefault := classes(s)
	if name != "" {
		for _, pc := range s.Cluster.PriorityClasses {
			if pc.Name == name {
				return nil
			}
		}
		return []rules.Finding{{Severity: rules.High, Field: "priorityClassName",
			Message:    fmt.Sprintf("priorityClassName %s does not exist: new pods are rejected", name),
			NeedsHuman: "create PriorityClass " + name + " or change priorityClassName"}}
	}
	if len(names) == 0 || globalDefault {
		return nil
	}
	return []rules.Finding{{Field: "priorityClassName",
		Message: fmt.Sprintf("no priorityClassName while the cluster defines %s: its pods are preempted first", strings.Join(names, ", "))}}
}

// unknownClasses is the finding of a rule that could not list the
// cluster's PriorityClasses: whether name (or, for "", any class) exists
// is unknown.
func unknownClasses(name string, u inspect.Unread) rules.Finding {
	f := rules.Finding{Field: "priorityClassName",
		NeedsHuman: "kubectl get priorityclasses as a user who may list them, then set one"}
	if name != "" {
		f.Message = fmt.Sprintf("priorityClassName %s: whether it exists is unknown (%s)", name, u.Short())
	} else {
		f.Message = fmt.Sprintf("no priorityClassName (%s)", u.Short())
	}
	return f
}

// Fix sets priorityClassName to an existing class.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	names, _ := classes(s)
	name := p["name"]
	switch {
	case name == "" && len(names) == 1:
		name = names[0]
	case name == "":
		return nil, rules.NeedsHumanf("choose one of %s: --set %s.name=NAME", strings.Join(names, ", "), id)
	}
	found := false
	for _, pc := range s.Cluster.PriorityClasses {
		found = found || pc.Name == name
	}
	if !found {
		return nil, fmt.Errorf("PriorityClass %q does not exist (the cluster has %s)", name, strings.Join(names, ", "))
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, name, append(rules.PodSpecPath(s.Workload), "priorityClassName")...)
	return &rules.Fix{Description: "set priorityClassName " + name, Changes: []rules.Change{{Object: obj}}}, nil
}
