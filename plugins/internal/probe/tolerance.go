package probe

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// The API server's defaults for a probe's unset (zero) fields, from the
// core/v1 Probe documentation.
const (
	defaultPeriod           = 10 // periodSeconds
	defaultTimeout          = 1  // timeoutSeconds
	defaultFailureThreshold = 3  // failureThreshold
)

// StartupPeriod is the periodSeconds of the startup probes harden writes:
// short, so a container that starts fast is checked by its liveness probe
// soon after.
const StartupPeriod = 5

// StartupMinimum is the smallest start-up budget harden writes, in seconds.
const StartupMinimum = 30

// Budget is how long a probe tolerates failure from the container's start
// before it acts, in seconds: initialDelaySeconds + failureThreshold ×
// periodSeconds, with the API defaults for unset fields. For a liveness
// probe without a startup probe it is the time the app has to start before
// the kubelet restarts it.
func Budget(p *corev1.Probe) int32 {
	return p.InitialDelaySeconds + period(p)*failures(p)
}

// Tolerance says how Budget is made, e.g. "65 s (initialDelaySeconds 20 +
// 3 × 15 s)".
func Tolerance(p *corev1.Probe) string {
	if p.InitialDelaySeconds == 0 {
		return fmt.Sprintf("%d s (%d × %d s)", Budget(p), failures(p), period(p))
	}
	return fmt.Sprintf("%d s (initialDelaySeconds %d + %d × %d s)", Budget(p), p.InitialDelaySeconds, failures(p), period(p))
}

func period(p *corev1.Probe) int32   { return orDefault(p.PeriodSeconds, defaultPeriod) }
func failures(p *corev1.Probe) int32 { return orDefault(p.FailureThreshold, defaultFailureThreshold) }

// Timeout is the probe's timeoutSeconds, 1 (the API default) when unset.
func Timeout(p *corev1.Probe) int32 { return orDefault(p.TimeoutSeconds, defaultTimeout) }

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}

// named is one of a container's probes and its field name.
type named struct {
	field string // e.g. "livenessProbe"
	p     *corev1.Probe
}

// existing are the container's probes, in a fixed order.
func existing(c *corev1.Container) []named {
	var out []named
	for _, e := range []named{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if e.p != nil {
			out = append(out, e)
		}
	}
	return out
}

// TimeoutAtLeast is the timeoutSeconds of a new probe of container c: def,
// raised to the largest timeoutSeconds of c's existing probes — the app is
// known to need that long to answer, so a new probe must not give up
// sooner. why says where the number comes from, e.g. "the livenessProbe's"
// or, for def, DefaultSource ("harden's default; Kubernetes' is 1").
func TimeoutAtLeast(c *corev1.Container, def int32) (seconds int64, why string) {
	seconds, why = int64(def), DefaultSource(int64(def), KubeTimeout)
	for _, e := range existing(c) {
		if t := int64(Timeout(e.p)); t > seconds {
			seconds, why = t, "the "+e.field+"'s"
		}
	}
	return seconds, why
}

// Bound is one lower bound of a start-up budget: seconds, and what it is.
type Bound struct {
	Seconds int64
	What    string // e.g. "liveness tolerance 65 s (initialDelaySeconds 20 + 3 × 15 s)"
}

// StartupBounds are the lower bounds of the start-up budget of container c
// whose liveness probe is lp (nil: none yet), each in seconds:
//   - StartupMinimum;
//   - twice the slowest observed start (a pod's start to Ready,
//     s.Stats().SlowestStart), when pods were seen starting; else a
//     0-second bound "no start observed", which only ExplainBudget shows;
//   - twice the longest initialDelaySeconds of c's probes: its author's
//     estimate of the start-up time;
//   - the liveness tolerance, Budget(lp): the time the app had before the
//     kubelet restarted it, which a startup probe must never shorten.
func StartupBounds(s *inspect.Snapshot, c *corev1.Container, lp *corev1.Probe) []Bound {
	// In this order, so that on a tie ExplainBudget names the liveness
	// tolerance and the observations before the minimum.
	var out []Bound
	if lp != nil {
		out = append(out, Bound{int64(Budget(lp)), "liveness tolerance " + Tolerance(lp)})
	}
	if slowest := s.Stats().SlowestStart; slowest > 0 {
		sec := int64((slowest + time.Second - 1) / time.Second)
		out = append(out, Bound{2 * sec, "2 × " + ObservedStart(s)})
	} else {
		// Not a bound: says that none came from observation.
		out = append(out, Bound{0, ObservedStart(s)})
	}
	var delay int32
	field := ""
	for _, e := range existing(c) {
		if e.p.InitialDelaySeconds > delay {
			delay, field = e.p.InitialDelaySeconds, e.field
		}
	}
	if lp != nil && lp.InitialDelaySeconds > delay {
		delay, field = lp.InitialDelaySeconds, "livenessProbe"
	}
	if delay > 0 {
		out = append(out, Bound{2 * int64(delay), fmt.Sprintf("2 × %s initialDelaySeconds %d", field, delay)})
	}
	return append(out, Bound{StartupMinimum, fmt.Sprintf("minimum %d s", StartupMinimum)})
}

// ObservedStart names the slowest start of the workload's pods seen (a
// pod's start to Ready, s.Stats().SlowestStart), e.g. "slowest observed
// start 1m40s", or "no start observed" when no pod was seen starting.
func ObservedStart(s *inspect.Snapshot) string {
	if slowest := s.Stats().SlowestStart; slowest > 0 {
		return "slowest observed start " + slowest.Round(time.Second).String()
	}
	return "no start observed"
}

// Binding is the largest bound: the one that sets the budget.
func Binding(bounds []Bound) Bound {
	var top Bound
	for _, b := range bounds {
		if b.Seconds > top.Seconds {
			top = b
		}
	}
	return top
}

// Startup is a startupProbe in apply form: handler (a ProbeHandler's map
// form), timeoutSeconds timeout, periodSeconds StartupPeriod (or timeout
// when longer: a check is never started before the previous one timed
// out), and failureThreshold the budget in whole periods, rounded up. It
// also returns the budget it really allows, failureThreshold ×
// periodSeconds, and the period, in seconds.
func Startup(handler map[string]any, budget, timeout int64) (probe map[string]any, allowed, period int64) {
	period = max(StartupPeriod, timeout)
	n := (budget + period - 1) / period
	probe = map[string]any{"periodSeconds": period, "failureThreshold": n, "timeoutSeconds": timeout}
	for k, v := range handler {
		probe[k] = v
	}
	return probe, n * period, period
}

// ExplainBudget says where a start-up budget comes from, e.g. "start-up
// budget 65 s (failureThreshold 13 × periodSeconds 5 s) ≥ liveness
// tolerance 65 s (initialDelaySeconds 20 + 3 × 15 s), ≥ minimum 30 s (no
// start observed)": 0-second bounds are notes, in parentheses at the end.
func ExplainBudget(allowed, period int64, bounds []Bound) string {
	// The binding bound first: it is the number that matters.
	sorted := slices.Clone(bounds)
	slices.SortStableFunc(sorted, func(a, b Bound) int { return cmp.Compare(b.Seconds, a.Seconds) })
	var parts, notes []string
	for _, b := range sorted {
		if b.Seconds == 0 {
			notes = append(notes, b.What)
			continue
		}
		parts = append(parts, "≥ "+b.What)
	}
	out := fmt.Sprintf("%s %s", BudgetSplit(allowed, period), strings.Join(parts, ", "))
	if len(notes) > 0 {
		out += " (" + strings.Join(notes, "; ") + ")"
	}
	return out
}

// BudgetSplit is a start-up budget as the probe writes it: "start-up
// budget 65 s (failureThreshold 13 × periodSeconds 5 s)".
func BudgetSplit(allowed, period int64) string {
	return fmt.Sprintf("start-up budget %d s (failureThreshold %d × periodSeconds %d s)", allowed, allowed/period, period)
}
