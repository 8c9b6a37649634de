// Package pdb checks that a PodDisruptionBudget protects the workload's
// pods during voluntary disruptions, without blocking node drains.
package pdb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the pdb rule.
type Rule struct{}

const id = "pdb"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "PodDisruptionBudget that allows drains", Category: rules.Availability, Severity: rules.Medium,
		Kinds: inspect.KindsIn(inspect.Replicated),
		Why: "Without a PodDisruptionBudget a node drain or cluster upgrade may evict every replica at once. " +
			"A budget that allows no eviction at all (maxUnavailable 0, or minAvailable equal to the replicas) " +
			"is as bad the other way: drains hang until someone deletes it.",
		Remediation: "Create a PodDisruptionBudget with maxUnavailable: 1 selecting exactly the workload's own pods " +
			"(with at least 2 replicas): its selector, or all its pod template's labels when the selector also " +
			"selects another workload's pods; and unhealthyPodEvictionPolicy: AlwaysAllow so crash-looping pods " +
			"never block a drain. Relax budgets that block every eviction; have exactly one budget per pod: the " +
			"eviction API refuses to evict a pod that more than one PodDisruptionBudget selects.",
		Fixable: true, CompanionSuffix: "-pdb",
		// The budget of a one-replica workload waits for the replicas fix.
		FixableAfter: []string{"replicas"},
		Params:       []rules.Param{{Name: "max-unavailable", Description: "maxUnavailable of the created PDB (number or percentage); default 1"}},
		OptOuts: []rules.OptOut{
			{Annotation: "polaris.fairwinds.com/missingPodDisruptionBudget-exempt"},
			{Annotation: "kube-score/ignore", Value: "deployment-has-poddisruptionbudget"},
			{Annotation: "kube-score/ignore", Value: "statefulset-has-poddisruptionbudget"},
		},
	}
}

// Check reports a missing budget, one that blocks every eviction, more
// than one budget over the same pods, a budget named for the workload
// that selects none of its pods, and a budget over its pods that selects
// another workload's pods too.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	m := r.Meta()
	replicas := desired(s)
	if replicas == 0 {
		return nil
	}
	var out []rules.Finding
	add := func(sev rules.Severity, msg, manual string) {
		out = append(out, rules.Finding{Severity: sev, Message: msg, NeedsHuman: manual})
	}
	podLabels := labels.Set(s.Workload.PodTemplate().Labels)
	for _, p := range s.NamespacePDBs {
		if !namedFor(s, p.Name, m.CompanionSuffix) || len(rules.SelectedNeighbours(s, p.Spec.Selector)) > 0 {
			continue // another's: a neighbour of the same name keeps its budget under that name
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err == nil && !sel.Matches(podLabels) {
			add(rules.Medium, fmt.Sprintf("PodDisruptionBudget %s is named for this workload but selects none of its pods", p.Name),
				"fix the selector of PodDisruptionBudget "+p.Name+" to match the pod labels")
		}
	}
	switch len(s.PDBs) {
	case 0:
		add(m.Severity, "no PodDisruptionBudget: a drain may evict every replica at once", "")
	case 1:
		if blocks(s.PDBs[0], replicas) {
			add(rules.High, fmt.Sprintf("PodDisruptionBudget %s allows no eviction with %d replicas: node drains hang", s.PDBs[0].Name, replicas),
				"relax PodDisruptionBudget "+s.PDBs[0].Name+" (e.g. maxUnavailable: 1); it is not harden's to rewrite")
		}
	default:
		add(rules.High, fmt.Sprintf("%d PodDisruptionBudgets select the same pods: the eviction API refuses to evict them", len(s.PDBs)),
			"delete all but one of the PodDisruptionBudgets")
	}
	for _, p := range s.PDBs {
		if f, ok := sharedBudget(s, p); ok {
			out = append(out, f)
		}
	}
	return out
}

// namedFor reports whether a budget's name is one the fix gives this
// workload's budget: its name, or its name with the suffix.
func namedFor(s *inspect.Snapshot, name, suffix string) bool {
	return name == s.Workload.Name() || name == s.Workload.Name()+suffix
}

// sharedBudget reports a budget over the workload's pods that selects a
// neighbour's pods too (Snapshot.Neighbours). When another budget covers
// those pods as well, the eviction API refuses to evict them ("more than
// one PodDisruptionBudget"): a drain hangs on them. Otherwise the two
// workloads share one budget: one's evictions use up the other's.
func sharedBudget(s *inspect.Snapshot, p policyv1.PodDisruptionBudget) (rules.Finding, bool) {
	refs := rules.SelectedNeighbours(s, p.Spec.Selector)
	if len(refs) == 0 {
		return rules.Finding{}, false
	}
	f := rules.Finding{Message: fmt.Sprintf("PodDisruptionBudget %s selects the pods of %s too: one budget for both, the evictions of one use up the other's",
		p.Name, strings.Join(refs, ", "))}
	if twice := otherBudgets(s, p, refs); len(twice) > 0 {
		f.Severity = rules.High
		verb := "selects"
		if len(twice) > 1 {
			verb = "select"
		}
		f.Message = fmt.Sprintf("PodDisruptionBudget %s selects the pods of %s too, which %s also %s: the eviction API refuses to evict a pod that more than one PodDisruptionBudget selects",
			p.Name, strings.Join(refs, ", "), strings.Join(twice, ", "), verb)
	}
	f.NeedsHuman = "narrow the selector of PodDisruptionBudget " + p.Name + " to this workload's own pods"
	if own, err := rules.OwnPodSelector(s); err == nil {
		f.NeedsHuman += fmt.Sprintf(", e.g. selector: %s", compact(own))
	} else {
		f.NeedsHuman += ": " + err.Error()
	}
	return f, true
}

// otherBudgets names the budgets of the namespace other than p that select
// the pods of the named neighbours, e.g. ["PodDisruptionBudget api"].
func otherBudgets(s *inspect.Snapshot, p policyv1.PodDisruptionBudget, refs []string) []string {
	var out []string
	for _, other := range s.NamespacePDBs {
		if other.Name == p.Name {
			continue
		}
		// In policy/v1 an empty selector selects every pod of the
		// namespace, a missing one none.
		sel, err := metav1.LabelSelectorAsSelector(other.Spec.Selector)
		if err != nil {
			continue
		}
		for _, n := range s.Neighbours() {
			if slices.Contains(refs, n.Ref) && sel.Matches(labels.Set(n.Labels)) {
				out = append(out, "PodDisruptionBudget "+other.Name)
				break
			}
		}
	}
	return out
}

// desired is the replica count the budget is judged against: the HPA's
// minimum when one exists.
func desired(s *inspect.Snapshot) int32 {
	if len(s.HPAs) > 0 {
		if min := s.HPAs[0].Spec.MinReplicas; min != nil {
			return *min
		}
		return 1
	}
	return s.Workload.Replicas()
}

// blocks reports whether the budget allows no voluntary eviction.
func blocks(p policyv1.PodDisruptionBudget, replicas int32) bool {
	if mu := p.Spec.MaxUnavailable; mu != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(mu, int(replicas), true)
		return err == nil && n == 0
	}
	if ma := p.Spec.MinAvailable; ma != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(ma, int(replicas), true)
		return err == nil && int32(n) >= replicas
	}
	return false
}

// Fix creates a budget with maxUnavailable over exactly the workload's own
// pods (rules.OwnPodSelector: its selector, or its pod template's labels
// when the selector also selects a neighbour's pods; needs-human when no
// label tells them apart). It needs 2 replicas first: a budget over one pod
// protects nothing.
func (r Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	if n := desired(s); n < 2 {
		return nil, rules.NeedsHumanf("the workload runs %d replica: a budget protects nothing until it runs 2 (fix replicas first: --fix=replicas,pdb)", n)
	}
	mu, source := intstr.FromInt32(1), "the rule's default, --set pdb.max-unavailable=N or N%"
	if v, ok := p["max-unavailable"]; ok {
		source = "from --set pdb.max-unavailable"
		mu = intstr.Parse(v)
		if n, err := intstr.GetScaledValueFromIntOrPercent(&mu, int(desired(s)), true); err != nil || n < 1 {
			return nil, fmt.Errorf("max-unavailable must allow at least one eviction, got %q", v)
		}
	}
	// Exactly the workload's own pods: a budget over a neighbour's pods too
	// would share their evictions, or block them beside their own budget.
	sel, err := rules.OwnPodSelector(s)
	if err != nil {
		return nil, err
	}
	// A name no budget of the namespace has: applied over a taken one,
	// the budget would rewrite it.
	name := rules.CompanionName(s.Workload.Name(), Rule{}.Meta().CompanionSuffix, func(n string) bool {
		return slices.ContainsFunc(s.NamespacePDBs, func(p policyv1.PodDisruptionBudget) bool { return p.Name == n })
	})
	obj := rules.Identity("policy/v1", "PodDisruptionBudget", s.Workload.Namespace(), name)
	rules.Set(obj, mu.String(), "spec", "maxUnavailable")
	if mu.Type == intstr.Int {
		rules.Set(obj, int64(mu.IntValue()), "spec", "maxUnavailable")
	}
	rules.Set(obj, sel, "spec", "selector")
	rules.Set(obj, string(policyv1.AlwaysAllow), "spec", "unhealthyPodEvictionPolicy")
	return &rules.Fix{
		Description: fmt.Sprintf("create PodDisruptionBudget %s with maxUnavailable %s (%s)", name, mu.String(), source),
		Changes:     []rules.Change{{Object: obj, Create: true}},
		Warnings:    rules.NeighbourWarnings(s),
	}, nil
}

// compact renders a selector on one line, e.g.
// {"matchLabels":{"app":"shop","tier":"web"}}.
func compact(sel map[string]any) string {
	b, err := json.Marshal(sel)
	if err != nil {
		return fmt.Sprint(sel)
	}
	return string(b)
}
