package probe

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Given is how a fix's description names a number that came from a
// parameter: --set RULE.PARAM=VALUE or the policy file's default for it.
const Given = "--set/policy"

// Timing is a probe's timings, in seconds and checks.
type Timing struct {
	Period, Timeout, Failures int64
}

// TimingParams are the timing parameters of the readiness and liveness
// rules, with def, harden's timings for a new probe, in the descriptions.
// relax, when the rule also relaxes a tight probe, is the minimums it
// raises one to without a given value.
func TimingParams(def Timing, relax *Timing) []rules.Param {
	never := func(min int64) string {
		if relax == nil {
			return ""
		}
		return fmt.Sprintf("; relaxing a tight probe raises it to the given value (default %d), never lowers it: a lower one is kept, with a warning", min)
	}
	var rp, rt, rf int64
	if relax != nil {
		rp, rt, rf = relax.Period, relax.Timeout, relax.Failures
	}
	return []rules.Param{
		{Name: "period", Description: fmt.Sprintf("periodSeconds of a new probe, a whole number ≥ 1: default %d (%s), raised to timeoutSeconds%s",
			def.Period, DefaultSource(def.Period, KubePeriod), never(rp))},
		{Name: "timeout", Description: fmt.Sprintf("timeoutSeconds of a new probe, a whole number ≥ 1: default %d (%s) raised to the container's longest probe timeout; a given value below that is written with a warning%s",
			def.Timeout, DefaultSource(def.Timeout, KubeTimeout), never(rt))},
		{Name: "failure-threshold", Description: fmt.Sprintf("failureThreshold of a new probe, a whole number ≥ 1: default %d (%s)%s",
			def.Failures, DefaultSource(def.Failures, KubeFailureThreshold), never(rf))},
	}
}

// ParseTiming reads the timing parameters of rule: each given one a whole
// number of seconds (or checks) ≥ 1; 0 for those not given.
func ParseTiming(p rules.Params, rule string) (Timing, error) {
	var t Timing
	for _, f := range []struct {
		name, field string
		to          *int64
	}{{"period", "periodSeconds", &t.Period}, {"timeout", "timeoutSeconds", &t.Timeout}, {"failure-threshold", "failureThreshold", &t.Failures}} {
		v, ok := p[f.name]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return Timing{}, fmt.Errorf("%s.%s=%s: %s must be a whole number ≥ 1, e.g. %s.%s=10", rule, f.name, v, f.field, rule, f.name)
		}
		*f.to = n
	}
	return t, nil
}

// NewTiming is the timing of a new probe (field, e.g. "readinessProbe") of
// container c: each given value replaces harden's default def, and why
// says where each number comes from. Without a given timeout it is def
// raised to the container's longest probe timeout (TimeoutAtLeast); a given
// one below that is written with a warning. The period is at least the
// timeout (a check starts only after the previous one timed out): a given
// period below a given timeout is an error, below a derived one it is
// raised, with a warning.
func NewTiming(c *corev1.Container, field string, def, given Timing) (t Timing, why [3]string, warnings []string, err error) {
	t.Timeout, why[1] = TimeoutAtLeast(c, int32(def.Timeout))
	if given.Timeout > 0 {
		if live, liveWhy := TimeoutAtLeast(c, 0); given.Timeout < live {
			warnings = append(warnings, fmt.Sprintf("container %s: the new %s's timeoutSeconds %d (%s) is below %s timeoutSeconds %d: the app is known to need that long to answer, and the probe gives up sooner",
				c.Name, field, given.Timeout, Given, liveWhy, live))
		}
		t.Timeout, why[1] = given.Timeout, Given
	}
	t.Period, why[0] = Period(def.Period, t.Timeout)
	if given.Period > 0 {
		t.Period, why[0] = given.Period, Given
		if given.Period < t.Timeout {
			if given.Timeout > 0 {
				return t, why, nil, fmt.Errorf("period %d is below timeout %d: a check starts only after the previous one timed out; give a period ≥ the timeout", given.Period, given.Timeout)
			}
			t.Period, why[0] = t.Timeout, fmt.Sprintf("= timeoutSeconds, raised from %d (%s): a check starts only after the previous one timed out", given.Period, Given)
			warnings = append(warnings, fmt.Sprintf("container %s: the new %s's periodSeconds %d (%s) is below its timeoutSeconds %d (%s): written as %d",
				c.Name, field, given.Period, Given, t.Timeout, why[1], t.Timeout))
		}
	}
	t.Failures, why[2] = def.Failures, DefaultSource(def.Failures, KubeFailureThreshold)
	if given.Failures > 0 {
		t.Failures, why[2] = given.Failures, Given
	}
	return t, why, warnings, nil
}

// Map is the probe's timing fields in apply form.
func (t Timing) Map() map[string]any {
	return map[string]any{"periodSeconds": t.Period, "timeoutSeconds": t.Timeout, "failureThreshold": t.Failures}
}
