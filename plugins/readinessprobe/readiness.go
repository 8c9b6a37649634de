// Package readinessprobe checks that every serving container has a
// readiness probe.
package readinessprobe

import (
	"fmt"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/probe"
)

func init() { rules.Register(Rule{}) }

// Rule is the readiness-probe rule.
type Rule struct{}

const id = "readiness-probe"

// Meta describes the rule.
func (Rule) Meta() rules.Meta { return meta }

// meta is built once: its parameters' descriptions are formatted, and
// evaluation asks for the rule's Meta on every workload.
var meta = rules.Meta{
	ID: id, Aliases: []string{"probes"}, Title: "Readiness probe", Category: rules.Health, Severity: rules.Medium,
	Kinds: probe.Kinds,
	Why: "Without a readiness probe a pod receives traffic as soon as its process starts, before it can " +
		"serve, and keeps receiving it while it is failing; rollouts also count unready pods as available. " +
		"It is high severity when a Service sends traffic to the pods.",
	Remediation: "Add a readinessProbe. harden uses a tcpSocket probe on the declared containerPort a Service " +
		"targets (else the only one declared; with several and no Service it asks which), with a timeout no " +
		"shorter than the container's other probes, and an httpGet probe only with a path you give " +
		"(--set readiness-probe.path=/ready).",
	Fixable: true,
	Params:  append(append([]rules.Param{}, probe.Params...), probe.TimingParams(defaults, nil)...),
	// Before liveness-probe: the new probe's timeout follows the
	// container's live probes, not a livenessProbe added in the same run.
	FixOrder: -1,
	OptOuts: []rules.OptOut{
		{Annotation: "polaris.fairwinds.com/readinessProbeMissing-exempt"},
		{Annotation: "kube-score/ignore", Value: "pod-probes"},
		{Annotation: "ignore-check.kube-linter.io/no-readiness-probe"},
	},
}

// Check reports each container without a readiness probe.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	m := r.Meta()
	sev := m.Severity
	why := "it gets traffic before it is ready"
	if probe.Served(s) {
		sev = rules.High
		why = fmt.Sprintf("Service %s sends it traffic before it is ready and while it fails", s.Services[0].Name)
	}
	var out []rules.Finding
	for _, c := range rules.Containers(s, rules.RegularContainers) {
		if c.ReadinessProbe != nil {
			continue
		}
		// Readiness gates traffic: a client that serves nothing (no port,
		// no Service) has none to gate.
		if len(c.Ports) == 0 && !probe.Served(s) {
			continue
		}
		msg := fmt.Sprintf("container %s has no readinessProbe: %s", c.Name, why)
		if c.LivenessProbe != nil {
			msg = fmt.Sprintf("container %s has a livenessProbe but no readinessProbe: a slow pod is restarted instead of taken out of rotation", c.Name)
		}
		out = append(out, rules.Finding{Severity: sev, Message: msg, Container: c.Name, Field: "readinessProbe"})
	}
	return out
}

// harden's readiness probe: checked every 5 seconds, out of rotation
// after 3 failed checks, each given 2 seconds (Kubernetes' defaults: 10 s,
// 3, 1 s); the period, timeout and failure-threshold parameters replace
// them.
var defaults = probe.Timing{Period: 5, Timeout: 2, Failures: 3}

// Fix adds a readiness probe on the port the Service targets: every 5 s,
// ready again after 1 success, unready after 3 failures, with a 2 s
// timeout — unless the container's probes already need more, then that
// timeout and a period as long — or the timings given as parameters.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	given, err := probe.ParseTiming(p, id)
	if err != nil {
		return nil, err
	}
	c, err := probe.Container(s, f.Container)
	if err != nil {
		return nil, err
	}
	h, where, err := probe.Handler(s, c.Container, p, id)
	if err != nil {
		return nil, err
	}
	t, why, warnings, err := probe.NewTiming(c.Container, "readinessProbe", defaults, given)
	if err != nil {
		return nil, err
	}
	pr := t.Map()
	for k, v := range rules.ToMap(h) {
		pr[k] = v
	}
	return &rules.Fix{
		Description: fmt.Sprintf("add a readinessProbe to container %s: %s, periodSeconds %d (%s), failureThreshold %d (%s): out of rotation after %d s of failed checks, timeoutSeconds %d (%s)",
			c.Name, where, t.Period, why[0], t.Failures, why[2], t.Period*t.Failures, t.Timeout, why[1]),
		Changes:  []rules.Change{c.WorkloadChange(s, map[string]any{"readinessProbe": pr})},
		Warnings: warnings,
	}, nil
}
