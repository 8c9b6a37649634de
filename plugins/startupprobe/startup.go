// Package startupprobe checks that slow-starting containers have a startup
// probe sized from how long their pods really take to become ready.
package startupprobe

import (
	"fmt"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/probe"
)

func init() { rules.Register(Rule{}) }

// Rule is the startup-probe rule.
type Rule struct{}

const id = "startup-probe"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Aliases: []string{"probes"}, Title: "Startup probe for slow starts", Category: rules.Health, Severity: rules.Medium,
		Kinds: probe.Kinds,
		Why: "A liveness probe starts counting when the container starts. When the pods take longer to become " +
			"ready than the liveness probe tolerates (or hide that behind initialDelaySeconds), a slow start — " +
			"a cold cache, a migration, a loaded node — ends in a restart loop.",
		Remediation: "Add a startupProbe with the liveness probe's handler and timeoutSeconds, and a start-up budget " +
			"that never lowers what the container had: at least the liveness tolerance (initialDelaySeconds + " +
			"failureThreshold × periodSeconds), twice the slowest observed start, twice the probes' " +
			"initialDelaySeconds, and 30s; liveness checks begin only once it succeeds.",
		Fixable: true,
		Params:  append([]rules.Param{{Name: "budget", Description: "seconds allowed for start-up; default the largest of the liveness tolerance, twice the slowest observed start, twice the probes' initialDelaySeconds and 30; a smaller value is written with a warning"}}, probe.Params...),
	}
}

// Check reports containers with a liveness probe and no startup probe when
// the observed start time exceeds the liveness budget, or when the liveness
// probe relies on initialDelaySeconds to survive start-up.
func (Rule) Check(s *inspect.Snapshot) []rules.Finding {
	slowest := s.Stats().SlowestStart
	var out []rules.Finding
	for _, c := range rules.Containers(s, rules.RegularContainers) {
		lp := c.LivenessProbe
		if lp == nil || c.StartupProbe != nil {
			continue
		}
		var msg string
		switch {
		case slowest > time.Duration(probe.Budget(lp))*time.Second:
			msg = fmt.Sprintf("container %s: pods took up to %s to become ready, more than the %ds its livenessProbe allows, and there is no startupProbe",
				c.Name, slowest.Round(time.Second), probe.Budget(lp))
		case lp.InitialDelaySeconds >= 10:
			msg = fmt.Sprintf("container %s: livenessProbe waits a fixed initialDelaySeconds %d instead of a startupProbe: slower starts are killed, faster ones wait",
				c.Name, lp.InitialDelaySeconds)
		default:
			continue
		}
		out = append(out, rules.Finding{Message: msg, Container: c.Name, Field: "startupProbe"})
	}
	return out
}

// Fix adds a startup probe with the liveness probe's handler and
// timeoutSeconds (or a port probe from the parameters) and a start-up
// budget that never lowers what the container had (probe.StartupBounds):
// at least the liveness tolerance, twice the slowest observed start and 30
// s. A smaller budget parameter is written as given, with a warning. The
// liveness probe's own initialDelaySeconds is kept: the startup budget
// already covers it, and the field belongs to whoever wrote the probe.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	c, err := probe.Container(s, f.Container)
	if err != nil {
		return nil, err
	}
	lp := c.LivenessProbe
	bounds := probe.StartupBounds(s, c.Container, lp)
	budget, given := probe.Binding(bounds).Seconds, p["budget"] != ""
	if given {
		if _, err := fmt.Sscanf(p["budget"], "%d", &budget); err != nil || budget < probe.StartupPeriod {
			return nil, fmt.Errorf("budget must be a number of seconds ≥ %d, got %q", probe.StartupPeriod, p["budget"])
		}
	}
	timeout, timeoutWhy := probe.TimeoutAtLeast(c.Container, 1)
	handler, handlerWhy := rules.ToMap(lp.ProbeHandler), "the livenessProbe's handler"
	if p["port"] != "" || p["path"] != "" {
		h, why, err := probe.Handler(s, c.Container, p, id)
		if err != nil {
			return nil, err
		}
		handler, handlerWhy = rules.ToMap(h), why
	}
	sp, allowed, period := probe.Startup(handler, budget, timeout)
	why := probe.ExplainBudget(allowed, period, bounds)
	var warnings []string
	if given {
		why = fmt.Sprintf("%s from --set %s.budget (%s)", probe.BudgetSplit(allowed, period), id, probe.ObservedStart(s))
		if b := probe.Binding(bounds); allowed < b.Seconds {
			warnings = append(warnings, fmt.Sprintf("container %s: the start-up budget %d s is below the %s: a start that took longer than %d s is now restarted by the kubelet",
				c.Name, allowed, b.What, allowed))
		}
	}
	return &rules.Fix{
		Description: fmt.Sprintf("add a startupProbe to container %s: %s; %s, timeoutSeconds %d (%s)",
			c.Name, why, handlerWhy, timeout, timeoutWhy),
		Changes:  []rules.Change{c.WorkloadChange(s, map[string]any{"startupProbe": sp})},
		Warnings: warnings,
	}, nil
}
