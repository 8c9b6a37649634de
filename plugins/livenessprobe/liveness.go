// Package livenessprobe checks liveness probes: present, not a copy of the
// readiness probe, and tolerant enough not to kill slow but healthy pods.
package livenessprobe

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
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
func (Rule) Meta() rules.Meta { return meta }

// meta is built once: its parameters' descriptions are formatted, and
// evaluation asks for the rule's Meta on every workload.
var meta = rules.Meta{
	ID: id, Aliases: []string{"probes"}, Title: "Liveness probe", Category: rules.Health, Severity: rules.Medium,
	Kinds: probe.Kinds,
	Why: "Without a liveness probe a deadlocked process keeps its pod forever. A liveness probe identical " +
		"to the readiness probe restarts pods that are only busy, and one with tight timeouts kills slow but " +
		"healthy pods, turning a load spike into a restart storm.",
	Remediation: "Add a tolerant livenessProbe (tcpSocket on the declared port a Service targets, or httpGet " +
		"with your path; every 10s, 6 failures, a 5s timeout or the container's longest probe timeout), " +
		"distinct from the readiness probe, with a total failure budget of at least 15 seconds; with a " +
		"startupProbe when the pods may take longer to start than it tolerates. Relaxing a tight probe " +
		"only raises its thresholds. Given timings (period, timeout, failure-threshold) replace these " +
		"numbers; a tolerance they leave under 15 seconds is refused.",
	Fixable: true,
	Params:  append(append([]rules.Param{}, probe.Params...), probe.TimingParams(defaults, &minimums)...),
	OptOuts: []rules.OptOut{
		{Annotation: "polaris.fairwinds.com/livenessProbeMissing-exempt"},
		{Annotation: "kube-score/ignore", Value: "pod-probes"},
		{Annotation: "ignore-check.kube-linter.io/no-liveness-probe"},
	},
}

// Check reports, per container, a missing, copied or too tight liveness probe.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	m := r.Meta()
	var out []rules.Finding
	add := func(sev rules.Severity, c, field, msg, manual string) {
		out = append(out, rules.Finding{Severity: sev, Message: msg, Container: c, Field: field, NeedsHuman: manual})
	}
	for _, c := range rules.Containers(s, rules.RegularContainers) {
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
// and a 5 s timeout unless the container's probes already need more; the
// period, timeout and failure-threshold parameters replace them. When
// relaxing a tight probe they are the minimums (failureThreshold 3).
var defaults = probe.Timing{Period: 10, Timeout: 5, Failures: 6}

// minimums are what relaxing a tight probe raises its timings to, unless
// given as parameters.
var minimums = probe.Timing{Period: 10, Timeout: 5, Failures: 3}

// tooTight says why this rule would report a liveness probe of these
// timings (initialDelaySeconds aside), or "".
func tooTight(t probe.Timing) string {
	if tol := t.Period * t.Failures; tol < minBudgetSeconds {
		return fmt.Sprintf("a tolerance of %d s (failureThreshold %d × periodSeconds %d) is below the %d s a liveness probe needs not to kill slow but healthy pods", tol, t.Failures, t.Period, minBudgetSeconds)
	}
	if t.Timeout <= 1 && t.Failures == 1 {
		return "timeoutSeconds 1 with failureThreshold 1 kills a pod on one slow answer"
	}
	return ""
}

// Fix adds a tolerant probe, or relaxes the thresholds of a tight one
// (never lowering one).
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	given, err := probe.ParseTiming(p, id)
	if err != nil {
		return nil, err
	}
	c, err := probe.Container(s, f.Container)
	if err != nil {
		return nil, err
	}
	if f.Field == "livenessProbe.thresholds" {
		return relax(s, c, given)
	}
	h, where, err := probe.Handler(s, c.Container, p, id)
	if err != nil {
		return nil, err
	}
	t, why, warnings, err := probe.NewTiming(c.Container, "livenessProbe", defaults, given)
	if err != nil {
		return nil, err
	}
	if tight := tooTight(t); tight != "" {
		return nil, fmt.Errorf("the given timings (%s): %s; give a larger period or failure-threshold", probe.Given, tight)
	}
	lp := t.Map()
	for k, v := range rules.ToMap(h) {
		lp[k] = v
	}
	tolerance := t.Period * t.Failures
	fields := map[string]any{"livenessProbe": lp}
	desc := fmt.Sprintf("add a livenessProbe to container %s: %s, tolerance %d s: failureThreshold %d (%s) × periodSeconds %d (%s), timeoutSeconds %d (%s)",
		c.Name, where, tolerance, t.Failures, why[2], t.Period, why[0], t.Timeout, why[1])
	// A container that may take longer to start than the new probe
	// tolerates would be restarted while starting: a startupProbe with the
	// same check holds the liveness checks back until it answers. Its
	// budget exceeds the new tolerance (given timings included), as
	// startup-probe's would: it is never below the liveness tolerance.
	if bounds := probe.StartupBounds(s, c.Container, nil); c.StartupProbe == nil && probe.Binding(bounds).Seconds > tolerance {
		sp, allowed, every := probe.Startup(rules.ToMap(h), probe.Binding(bounds).Seconds, t.Timeout)
		fields["startupProbe"] = sp
		desc += fmt.Sprintf("; and a startupProbe with the same check, %s, so that a slow start is not restarted", probe.ExplainBudget(allowed, every, bounds))
	}
	return &rules.Fix{Description: desc, Changes: []rules.Change{c.WorkloadChange(s, fields)}, Warnings: warnings}, nil
}

// relax raises the tight thresholds of a liveness probe to at least every
// 10 s, a 5 s timeout and 3 failures, or to the values given as
// parameters; it never lowers one: a given value below the live one is
// not used, with a warning. A raised timeout above the period raises the
// period too.
func relax(s *inspect.Snapshot, c rules.Container, given probe.Timing) (*rules.Fix, error) {
	lp := c.LivenessProbe
	live := probe.Timing{Period: int64(orDefault(lp.PeriodSeconds, 10)), Timeout: int64(probe.Timeout(lp)), Failures: int64(orDefault(lp.FailureThreshold, 3))}
	t := live
	relaxed := map[string]any{}
	var what, usedMinimums, warnings []string
	raise := func(field, param string, have int64, given, min int64, to *int64) {
		want, source := min, ""
		if given > 0 {
			want, source = given, " ("+probe.Given+")"
		} else {
			usedMinimums = append(usedMinimums, fmt.Sprintf("%s %d", field, min))
		}
		switch {
		case have < want:
			*to = want
			relaxed[field] = want
			what = append(what, fmt.Sprintf("%s %d → %d%s", field, have, want, source))
		case have > want && given > 0:
			warnings = append(warnings, fmt.Sprintf("container %s: %s.%s=%d (%s) would lower the livenessProbe's %s %d: kept %d (relaxing a probe only raises values)",
				c.Name, id, param, given, probe.Given, field, have, have))
		}
	}
	raise("periodSeconds", "period", live.Period, given.Period, minimums.Period, &t.Period)
	raise("timeoutSeconds", "timeout", live.Timeout, given.Timeout, minimums.Timeout, &t.Timeout)
	raise("failureThreshold", "failure-threshold", live.Failures, given.Failures, minimums.Failures, &t.Failures)
	if t.Timeout > live.Timeout && t.Timeout > t.Period {
		// A check starts only after the previous one timed out.
		what = slices.DeleteFunc(what, func(w string) bool { return strings.HasPrefix(w, "periodSeconds ") })
		relaxed["periodSeconds"] = t.Timeout
		what = append(what, fmt.Sprintf("periodSeconds %d → %d (= timeoutSeconds: a check starts only after the previous one timed out)", live.Period, t.Timeout))
		t.Period = t.Timeout
	}
	if tight := tooTight(t); tight != "" {
		return nil, fmt.Errorf("the given timings (%s): relaxed to periodSeconds %d, timeoutSeconds %d, failureThreshold %d, the livenessProbe of container %s is still too tight: %s; give a larger period or failure-threshold",
			probe.Given, t.Period, t.Timeout, t.Failures, c.Name, tight)
	}
	note := fmt.Sprintf("unset fields read as Kubernetes' defaults %d, %d, %d", probe.KubePeriod, probe.KubeTimeout, probe.KubeFailureThreshold)
	if len(usedMinimums) > 0 {
		note = "harden's minimums: " + strings.Join(usedMinimums, ", ") + "; " + note
	}
	return &rules.Fix{
		Description: fmt.Sprintf("relax the livenessProbe thresholds of container %s: %s (%s)", c.Name, strings.Join(what, ", "), note),
		Changes:     []rules.Change{c.WorkloadChange(s, map[string]any{"livenessProbe": relaxed})},
		Warnings:    warnings,
	}, nil
}

// orDefault is the API's default for an unset (zero) probe field.
func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
