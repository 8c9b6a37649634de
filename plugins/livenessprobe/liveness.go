// Package livenessprobe checks liveness probes: present, not a copy of the
// readiness probe, and tolerant enough not to kill slow but healthy pods.
package livenessprobe

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/probe"
)

func init() { rules.Register(Rule{}) }

// Rule is the liveness-probe rule.
type Rule struct{}

const id = "liveness-probe"

// A liveness probe that gives up in less than this kills pods during a
// garbage-collection pause or a burst of load.
const minBudgetSeconds = 15

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Aliases: []string{"probes"}, Title: "Liveness probe", Category: rules.Health, Severity: rules.Medium,
		Kinds: probe.Kinds,
		Why: "Without a liveness probe a deadlocked process keeps its pod forever. A liveness probe identical " +
			"to the readiness probe restarts pods that are only busy, and one with tight timeouts kills slow but " +
			"healthy pods, turning a load spike into a restart storm.",
		Remediation: "Add a tolerant livenessProbe (tcpSocket on a declared port, or httpGet with your path; " +
			"every 10s, 5s timeout, 6 failures), distinct from the readiness probe, with a total failure budget " +
			"of at least 15 seconds.",
		Fixable: true,
		Params:  probe.Params,
		OptOuts: []rules.OptOut{
			{Annotation: "polaris.fairwinds.com/livenessProbeMissing-exempt"},
			{Annotation: "kube-score/ignore", Value: "pod-probes"},
			{Annotation: "ignore-check.kube-linter.io/no-liveness-probe"},
		},
	}
}

// Check reports, per container, a missing, copied or too tight liveness probe.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	m := r.Meta()
	var out []rules.Finding
	add := func(sev rules.Severity, c, field, msg, manual string) {
		out = append(out, rules.Finding{Rule: id, Severity: sev, Category: m.Category, Message: msg, Container: c, Field: field, Manual: manual})
	}
	for _, c := range s.Workload.PodTemplate().Spec.Containers {
		lp := c.LivenessProbe
		switch {
		case lp == nil:
			add(m.Severity, c.Name, "livenessProbe", fmt.Sprintf("container %s has no livenessProbe: a hung process is never restarted", c.Name), "")
		case c.ReadinessProbe != nil && equality.Semantic.DeepEqual(lp, c.ReadinessProbe):
			add(m.Severity, c.Name, "livenessProbe", fmt.Sprintf("container %s: livenessProbe is identical to readinessProbe: a busy pod is restarted instead of taken out of rotation", c.Name),
				"make the liveness probe check only that the process is alive (a cheaper endpoint, or a larger failureThreshold)")
		case probe.Budget(lp)-lp.InitialDelaySeconds < minBudgetSeconds || lp.TimeoutSeconds <= 1 && lp.FailureThreshold == 1:
			add(rules.High, c.Name, "livenessProbe.thresholds", fmt.Sprintf("container %s: livenessProbe gives up after %ds (timeoutSeconds %d, failureThreshold %d): slow but healthy pods are killed",
				c.Name, probe.Budget(lp)-lp.InitialDelaySeconds, orDefault(lp.TimeoutSeconds, 1), orDefault(lp.FailureThreshold, 3)), "")
		}
	}
	return out
}

// Fix adds a tolerant probe, or relaxes the thresholds of a tight one.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	c, err := probe.Container(s, f.Container)
	if err != nil {
		return nil, err
	}
	tolerant := map[string]any{"periodSeconds": int64(10), "timeoutSeconds": int64(5), "failureThreshold": int64(6)}
	if f.Field == "livenessProbe.thresholds" {
		lp := c.LivenessProbe
		relaxed := map[string]any{}
		if lp.PeriodSeconds < 10 {
			relaxed["periodSeconds"] = int64(10)
		}
		if lp.TimeoutSeconds < 5 {
			relaxed["timeoutSeconds"] = int64(5)
		}
		if lp.FailureThreshold < 3 {
			relaxed["failureThreshold"] = int64(3)
		}
		return &rules.Fix{
			Description: "relax the livenessProbe thresholds of container " + c.Name,
			Changes:     []rules.Change{probe.Change(s, c.Name, "livenessProbe", relaxed)},
		}, nil
	}
	h, err := probe.Handler(c, p, id)
	if err != nil {
		return nil, err
	}
	for k, v := range rules.ToMap(h) {
		tolerant[k] = v
	}
	return &rules.Fix{
		Description: "add a livenessProbe to container " + c.Name,
		Changes:     []rules.Change{probe.Change(s, c.Name, "livenessProbe", tolerant)},
	}, nil
}

// orDefault is the API's default for an unset (zero) probe field.
func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
