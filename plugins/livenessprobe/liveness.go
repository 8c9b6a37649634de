// Package livenessprobe checks liveness probes: present, not a copy of the
// readiness probe, and tolerant enough not to kill slow but healthy pods.
package livenessprobe

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
		Remediation: "Add a tolerant livenessProbe (tcpSocket on the declared port a Service targets, or httpGet " +
			"with your path; every 10s, 6 failures, a 5s timeout or the container's longest probe timeout), " +
			"distinct from the readiness probe, with a total failure budget of at least 15 seconds; with a " +
			"startupProbe when the pods may take longer to start than it tolerates. Relaxing a tight probe " +
			"only raises its thresholds.",
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

// The new liveness probe: every 10 s, 6 failures — a 60 s tolerance —
// and a 5 s timeout unless the container's probes already need more.
const (
	livenessPeriod   = 10
	livenessFailures = 6
	livenessTimeout  = 5
)

// Fix adds a tolerant probe, or relaxes the thresholds of a tight one
// (never lowering one).
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	c, err := probe.Container(s, f.Container)
	if err != nil {
		return nil, err
	}
	if f.Field == "livenessProbe.thresholds" {
		return relax(s, c), nil
	}
	h, where, err := probe.Handler(s, c, p, id)
	if err != nil {
		return nil, err
	}
	timeout, timeoutWhy := probe.TimeoutAtLeast(c, livenessTimeout)
	period, periodWhy := probe.Period(livenessPeriod, timeout)
	lp := map[string]any{"periodSeconds": period, "timeoutSeconds": timeout, "failureThreshold": int64(livenessFailures)}
	for k, v := range rules.ToMap(h) {
		lp[k] = v
	}
	fields := map[string]any{"livenessProbe": lp}
	desc := fmt.Sprintf("add a livenessProbe to container %s: %s, tolerance %d s: failureThreshold %d (%s) × periodSeconds %d (%s), timeoutSeconds %d (%s)",
		c.Name, where, period*livenessFailures, livenessFailures, probe.DefaultSource(livenessFailures, probe.KubeFailureThreshold),
		period, periodWhy, timeout, timeoutWhy)
	// A container that may take longer to start than the new probe
	// tolerates would be restarted while starting: a startupProbe with the
	// same check holds the liveness checks back until it answers.
	if bounds := probe.StartupBounds(s, c, nil); c.StartupProbe == nil && probe.Binding(bounds).Seconds > period*livenessFailures {
		sp, allowed, every := probe.Startup(rules.ToMap(h), probe.Binding(bounds).Seconds, timeout)
		fields["startupProbe"] = sp
		desc += fmt.Sprintf("; and a startupProbe with the same check, %s, so that a slow start is not restarted", probe.ExplainBudget(allowed, every, bounds))
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, rules.ContainerChange(c.Name, fields), rules.PodSpecPath(s.Workload)...)
	return &rules.Fix{Description: desc, Changes: []rules.Change{{Object: obj}}}, nil
}

// relax raises the tight thresholds of a liveness probe to at least every
// 10 s, a 5 s timeout and 3 failures; it never lowers one.
func relax(s *inspect.Snapshot, c *corev1.Container) *rules.Fix {
	lp := c.LivenessProbe
	relaxed := map[string]any{}
	var what []string
	raise := func(field string, have, want int32) {
		if have < want {
			relaxed[field] = int64(want)
			what = append(what, fmt.Sprintf("%s %d → %d", field, have, want))
		}
	}
	raise("periodSeconds", orDefault(lp.PeriodSeconds, 10), livenessPeriod)
	raise("timeoutSeconds", probe.Timeout(lp), livenessTimeout)
	raise("failureThreshold", orDefault(lp.FailureThreshold, 3), 3)
	return &rules.Fix{
		Description: fmt.Sprintf("relax the livenessProbe thresholds of container %s: %s (harden's minimums: periodSeconds %d, timeoutSeconds %d, failureThreshold 3; unset fields read as Kubernetes' defaults %d, %d, %d)",
			c.Name, strings.Join(what, ", "), livenessPeriod, livenessTimeout, probe.KubePeriod, probe.KubeTimeout, probe.KubeFailureThreshold),
		Changes: []rules.Change{probe.Change(s, c.Name, "livenessProbe", relaxed)},
	}
}

// orDefault is the API's default for an unset (zero) probe field.
func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
