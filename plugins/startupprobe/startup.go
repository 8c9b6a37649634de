// Package startupprobe checks that slow-starting containers have a startup
// probe sized from how long their pods really take to become ready.
package startupprobe

import (
	"fmt"
	"time"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/probe"
)

func init() { rules.Register(Rule{}) }

// Rule is the startup-probe rule.
type Rule struct{}

const id = "startup-probe"

const period = 5 // seconds between startup probes

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Aliases: []string{"probes"}, Title: "Startup probe for slow starts", Category: rules.Health, Severity: rules.Medium,
		Kinds: probe.Kinds,
		Why: "A liveness probe starts counting when the container starts. When the pods take longer to become " +
			"ready than the liveness probe tolerates (or hide that behind initialDelaySeconds), a slow start — " +
			"a cold cache, a migration, a loaded node — ends in a restart loop.",
		Remediation: "Add a startupProbe with the liveness probe's handler and a budget of twice the slowest " +
			"observed start (at least 30s); liveness checks begin only once it succeeds.",
		Fixable: true,
		Params:  append([]rules.Param{{Name: "budget", Description: "seconds allowed for start-up; default twice the slowest observed start, at least 30"}}, probe.Params...),
	}
}

// Check reports containers with a liveness probe and no startup probe when
// the observed start time exceeds the liveness budget, or when the liveness
// probe relies on initialDelaySeconds to survive start-up.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	m := r.Meta()
	slowest := s.Stats().SlowestStart
	var out []rules.Finding
	for _, c := range s.Workload.PodTemplate().Spec.Containers {
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
		out = append(out, rules.Finding{Rule: id, Severity: m.Severity, Category: m.Category, Message: msg, Container: c.Name, Field: "startupProbe"})
	}
	return out
}

// Fix adds a startup probe with the liveness probe's handler (or a port
// probe from the parameters) and a budget from observed start times.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	c, err := probe.Container(s, f.Container)
	if err != nil {
		return nil, err
	}
	budget := max(int64(2*s.Stats().SlowestStart/time.Second), int64(30), int64(c.LivenessProbe.InitialDelaySeconds)*2)
	if v, ok := p["budget"]; ok {
		if _, err := fmt.Sscanf(v, "%d", &budget); err != nil || budget < period {
			return nil, fmt.Errorf("budget must be a number of seconds ≥ %d, got %q", period, v)
		}
	}
	handler := rules.ToMap(c.LivenessProbe.ProbeHandler)
	if p["port"] != "" || p["path"] != "" {
		h, err := probe.Handler(c, p, id)
		if err != nil {
			return nil, err
		}
		handler = rules.ToMap(h)
	}
	sp := map[string]any{"periodSeconds": int64(period), "failureThreshold": (budget + period - 1) / period}
	for k, v := range handler {
		sp[k] = v
	}
	return &rules.Fix{
		Description: fmt.Sprintf("add a startupProbe allowing %ds to container %s", budget, c.Name),
		Changes:     []rules.Change{probe.Change(s, c.Name, "startupProbe", sp)},
	}, nil
}
