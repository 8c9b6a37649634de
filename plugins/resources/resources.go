// Package resources checks CPU and memory requests and the memory limit,
// sizing them from observed usage when metrics are served.
package resources

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the resources rule.
type Rule struct{}

const id = "resources"

// Guesses used when neither metrics nor a LimitRange say better.
var guess = map[string]string{"cpu": "100m", "memory": "128Mi", "memory-limit": "256Mi"}

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Requests and memory limit", Category: rules.Resources, Severity: rules.Medium,
		Kinds: pss.Kinds,
		Why: "Without requests the scheduler packs pods blindly and they are the first evicted under " +
			"pressure (BestEffort); without a memory limit one leak takes the node's memory from its " +
			"neighbours. A memory limit below what the app uses ends in OOMKilled restarts.",
		Remediation: "Set requests.cpu, requests.memory and limits.memory on every container: from observed " +
			"usage with headroom when metrics.k8s.io is served, else from the namespace's LimitRange " +
			"defaults, else conservative guesses to revise. A CPU limit is left out on purpose: it throttles " +
			"without protecting anyone.",
		Fixable: true,
		Params: []rules.Param{{Name: "cpu", Description: "CPU request, e.g. 250m"}, {Name: "memory", Description: "memory request, e.g. 256Mi"},
			{Name: "memory-limit", Description: "memory limit, e.g. 512Mi"}},
		OptOuts: []rules.OptOut{{Annotation: "kube-score/ignore", Value: "container-resources"}, {Annotation: "polaris.fairwinds.com/cpuRequestsMissing-exempt"},
			{Annotation: "ignore-check.kube-linter.io/unset-memory-requirements"}},
	}
}

// missing lists what a container lacks.
func missing(c *corev1.Container) []string {
	var out []string
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		out = append(out, "requests.cpu")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		out = append(out, "requests.memory")
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		out = append(out, "limits.memory")
	}
	return out
}

// oomKilled reports whether a pod whose container has this very memory
// limit was OOM-killed: kills under an older, lower limit are history.
func oomKilled(s *inspect.Snapshot, container string, limit resource.Quantity) bool {
	for _, p := range s.Pods {
		for _, c := range p.Spec.Containers {
			if c.Name != container || !c.Resources.Limits.Memory().Equal(limit) {
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == container && cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.Reason == "OOMKilled" {
					return true
				}
			}
		}
	}
	return false
}

// Check reports missing requests/limits per container, and OOM kills under
// a memory limit.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, c := range s.Workload.PodTemplate().Spec.Containers {
		if m := missing(&c); len(m) > 0 {
			out = append(out, rules.Finding{Rule: id, Severity: rules.Medium, Category: rules.Resources, Container: c.Name, Field: "resources",
				Message: fmt.Sprintf("container %s has no %s", c.Name, strings.Join(m, ", "))})
		}
		if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && oomKilled(s, c.Name, lim) {
			out = append(out, rules.Finding{Rule: id, Severity: rules.High, Category: rules.Resources, Container: c.Name, Field: "resources.limits.memory",
				Message: fmt.Sprintf("container %s was OOMKilled under its memory limit of %s", c.Name, lim.String())})
		}
	}
	return out
}

// Fix sets what is missing (or doubles an OOM-killed container's limit).
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	var c *corev1.Container
	for i, cc := range s.Workload.PodTemplate().Spec.Containers {
		if cc.Name == f.Container {
			c = &s.Workload.PodTemplate().Spec.Containers[i]
		}
	}
	if c == nil {
		return nil, fmt.Errorf("no container %q", f.Container)
	}
	for k, v := range p {
		if _, err := resource.ParseQuantity(v); err != nil {
			return nil, fmt.Errorf("%s: %q is not a quantity", k, v)
		}
	}
	res := map[string]any{}
	var warnings []string
	if f.Field == "resources.limits.memory" {
		lim := c.Resources.Limits[corev1.ResourceMemory]
		raised := resource.NewQuantity(lim.Value()*2, resource.BinarySI)
		if v := p["memory-limit"]; v != "" {
			q := resource.MustParse(v)
			raised = &q
		}
		rules.Set(res, raised.String(), "limits", "memory")
		return &rules.Fix{Description: "raise the memory limit of " + c.Name + " to " + raised.String(),
			Changes: []rules.Change{containerChange(s, c.Name, res)}}, nil
	}
	values, source := sizes(s, c.Name)
	for k, v := range p {
		values[k] = v
	}
	if source == "guess" && len(p) < 3 {
		warnings = append(warnings, fmt.Sprintf("container %s: no metrics and no LimitRange: %s are guesses to revise", c.Name, describe(values)))
	}
	for _, m := range missing(c) {
		switch m {
		case "requests.cpu":
			rules.Set(res, values["cpu"], "requests", "cpu")
		case "requests.memory":
			rules.Set(res, values["memory"], "requests", "memory")
		case "limits.memory":
			rules.Set(res, values["memory-limit"], "limits", "memory")
		}
	}
	return &rules.Fix{Description: fmt.Sprintf("set %s of %s (%s)", strings.Join(missing(c), ", "), c.Name, source),
		Changes: []rules.Change{containerChange(s, c.Name, res)}, Warnings: warnings}, nil
}

func containerChange(s *inspect.Snapshot, container string, res map[string]any) rules.Change {
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, rules.ContainerChange(container, map[string]any{"resources": res}), rules.PodSpecPath(s.Workload)...)
	return rules.Change{Object: obj}
}

// sizes picks values: observed usage with headroom, the LimitRange's
// defaults, or guesses, and says which.
func sizes(s *inspect.Snapshot, container string) (map[string]string, string) {
	var cpu, mem int64
	for _, pod := range s.Usage {
		if u, ok := pod[container]; ok {
			cpu, mem = max(cpu, u.CPUMilli), max(mem, u.MemoryBytes)
		}
	}
	if cpu > 0 || mem > 0 {
		req := max(mem*6/5, 32<<20)
		return map[string]string{
			"cpu":          resource.NewMilliQuantity(max(cpu*6/5, 10), resource.DecimalSI).String(),
			"memory":       roundMi(req),
			"memory-limit": roundMi(max(req*2, mem*3/2)),
		}, "from observed usage"
	}
	for _, lr := range s.LimitRanges {
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			v := map[string]string{}
			for k, name := range map[corev1.ResourceName]string{corev1.ResourceCPU: "cpu", corev1.ResourceMemory: "memory"} {
				if q, ok := item.DefaultRequest[k]; ok {
					v[name] = q.String()
				}
			}
			if q, ok := item.Default[corev1.ResourceMemory]; ok {
				v["memory-limit"] = q.String()
			}
			if len(v) > 0 {
				for k, g := range guess {
					if _, ok := v[k]; !ok {
						v[k] = g
					}
				}
				return v, "from LimitRange " + lr.Name
			}
		}
	}
	v := map[string]string{}
	for k, g := range guess {
		v[k] = g
	}
	return v, "guess"
}

func roundMi(bytes int64) string {
	return resource.NewQuantity((bytes+(1<<20)-1)>>20<<20, resource.BinarySI).String()
}

func describe(v map[string]string) string {
	return fmt.Sprintf("cpu %s, memory %s, memory limit %s", v["cpu"], v["memory"], v["memory-limit"])
}
