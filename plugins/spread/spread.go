// Package spread checks that replicas are spread over nodes and zones, so
// one node or zone failure does not take them all.
package spread

import (
	"fmt"
	"strconv"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the spread rule.
type Rule struct{}

const id = "spread"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Replicas spread over nodes and zones", Category: rules.Availability, Severity: rules.Medium,
		Kinds: inspect.KindsIn(inspect.Replicated),
		Why: "The scheduler may put every replica on the same node or zone; one node failure, drain or zone " +
			"outage then takes them all, whatever the replica count.",
		Remediation: "Add topologySpreadConstraints over topology.kubernetes.io/zone (when nodes carry it) and " +
			"kubernetes.io/hostname with whenUnsatisfiable: ScheduleAnyway, or a preferred podAntiAffinity. " +
			"Either one is enough.",
		Fixable: true,
		Params:  []rules.Param{{Name: "max-skew", Description: "maxSkew of the constraints; default 1"}},
		OptOuts: []rules.OptOut{
			{Annotation: "polaris.fairwinds.com/topologySpreadConstraint-exempt"},
			{Annotation: "kube-score/ignore", Value: "deployment-has-host-podantiaffinity"},
			{Annotation: "kube-score/ignore", Value: "statefulset-has-host-podantiaffinity"},
			{Annotation: "ignore-check.kube-linter.io/no-anti-affinity"},
		},
	}
}

// Check reports a pod template with neither topologySpreadConstraints nor
// podAntiAffinity, with where the live pods actually are.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	if s.Workload.Replicas() == 0 {
		return nil
	}
	spec := s.Workload.PodTemplate().Spec
	if len(spec.TopologySpreadConstraints) > 0 {
		return nil
	}
	if a := spec.Affinity; a != nil && a.PodAntiAffinity != nil &&
		(len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0) {
		return nil
	}
	st := s.Stats()
	msg := "no topologySpreadConstraints or podAntiAffinity: replicas may all land on one node"
	zonesUnread, unknown := s.Unknown(inspect.ResNodes)
	if zones := s.Cluster.Zones(); len(zones) > 1 {
		msg = fmt.Sprintf("no topologySpreadConstraints or podAntiAffinity: replicas may all land in one of %d zones", len(zones))
	}
	if st.Total > 1 && len(st.Nodes) == 1 {
		for node := range st.Nodes {
			msg += fmt.Sprintf(" (all %d pods are on node %s now)", st.Total, node)
		}
	}
	f := rules.Finding{Message: msg, Field: "spec.template.spec.topologySpreadConstraints"}
	if unknown {
		// Whether the nodes carry zones decides the constraints: the fix
		// is left to someone who can see them.
		f.Message += " (" + zonesUnread.Short() + ")"
		f.NeedsHuman = zonesManual(zonesUnread)
	}
	return []rules.Finding{f}
}

// zonesManual is what to do when the nodes could not be listed: the zone
// constraint depends on whether they carry topology.kubernetes.io/zone.
func zonesManual(u inspect.Unread) string {
	return fmt.Sprintf("run as a user who may list %s, or spread on %s (and %s if the nodes carry it), ScheduleAnyway",
		u.Resource, inspect.HostnameLabel, inspect.ZoneLabel)
}

// Fix adds ScheduleAnyway constraints on zone (when the nodes have zones)
// and hostname, selecting the workload's own pods. For Deployments,
// matchLabelKeys pod-template-hash keeps a rollout's old pods from
// skewing the new ones.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	if u, unknown := s.Unknown(inspect.ResNodes); unknown {
		return nil, rules.NeedsHumanf("%s: %s", u.Short(), zonesManual(u))
	}
	skew := int64(1)
	if v, ok := p["max-skew"]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("max-skew must be a number ≥ 1, got %q", v)
		}
		skew = n
	}
	// Counting a neighbour's pods would only skew a ScheduleAnyway
	// preference, so an overlap that cannot be avoided keeps the workload's
	// selector, with a warning.
	var warnings []string
	sel, err := rules.OwnPodSelector(s)
	if err != nil {
		sel, _ = s.Workload.Object.Object["spec"].(map[string]any)["selector"].(map[string]any)
		warnings = append(warnings, "the spread also counts other pods: "+err.Error())
	}
	warnings = append(warnings, rules.NeighbourWarnings(s)...)
	keys := []string{inspect.HostnameLabel}
	if len(s.Cluster.Zones()) > 1 {
		keys = []string{inspect.ZoneLabel, inspect.HostnameLabel}
	}
	var constraints []any
	for _, k := range keys {
		c := map[string]any{"topologyKey": k, "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": skew, "labelSelector": sel}
		if s.Workload.Deployment != nil {
			c["matchLabelKeys"] = []any{"pod-template-hash"}
		}
		constraints = append(constraints, c)
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, map[string]any{"topologySpreadConstraints": constraints}, rules.PodSpecPath(s.Workload)...)
	return &rules.Fix{
		Description: fmt.Sprintf("spread pods over %v with maxSkew %d (ScheduleAnyway)", keys, skew),
		Changes:     []rules.Change{{Object: obj}},
		Warnings:    warnings,
	}, nil
}
