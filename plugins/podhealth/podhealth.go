// Package podhealth reports what the live pods show: crash loops, image
// pulls that fail, bad configuration, OOM kills, frequent restarts and
// missing replicas — the signals worth an alert. Report only: these need a
// human to read logs and events.
package podhealth

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the pod-health rule.
type Rule struct{}

const id = "pod-health"

// FrequentRestarts is the restart count, per container, reported as frequent.
const FrequentRestarts = 5

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Live pod health", Category: rules.Health, Severity: rules.High,
		Kinds: inspect.KindsIn(inspect.Workloads),
		Why: "Hardening a workload whose pods are crash-looping, cannot pull their image or are OOM-killed " +
			"hides the real problem; these are the states monitoring should alert on.",
		Remediation: "Read the pod's events and logs (kubectl describe pod, kubectl logs --previous): fix the " +
			"image, configuration or memory limit. harden reports these and changes nothing.",
	}
}

// waitingProblems are container waiting reasons that will not resolve alone.
var waitingProblems = map[string]string{
	"CrashLoopBackOff":           "the container keeps crashing",
	"ImagePullBackOff":           "the image cannot be pulled",
	"ErrImagePull":               "the image cannot be pulled",
	"InvalidImageName":           "the image name is invalid",
	"CreateContainerConfigError": "a referenced ConfigMap/Secret key is missing or the securityContext cannot be met",
	"CreateContainerError":       "the container cannot be created",
	"RunContainerError":          "the container cannot be started",
}

// Check reads each pod's container states.
func (Rule) Check(s *inspect.Snapshot) []rules.Finding {
	type key struct{ container, problem string }
	pods := map[key][]string{}
	var order []key
	note := func(k key, pod string) {
		if _, ok := pods[k]; !ok {
			order = append(order, k)
		}
		pods[k] = append(pods[k], pod)
	}
	for _, p := range s.Pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && waitingProblems[w.Reason] != "" {
				note(key{cs.Name, w.Reason}, p.Name)
			}
			if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
				note(key{cs.Name, "OOMKilled"}, p.Name)
			}
			if cs.RestartCount >= FrequentRestarts {
				note(key{cs.Name, "restarts"}, p.Name)
			}
		}
	}
	var out []rules.Finding
	for _, k := range order {
		names := pods[k]
		sort.Strings(names)
		f := rules.Finding{Container: k.container}
		switch k.problem {
		case "OOMKilled":
			f.Message = fmt.Sprintf("container %s was OOMKilled in %s: its memory limit is too low for its use", k.container, list(names))
			f.NeedsHuman = "raise the memory limit (or fix the leak); kubectl describe pod " + names[0]
		case "restarts":
			f.Severity = rules.Medium
			f.Message = fmt.Sprintf("container %s restarted %d+ times in %s", k.container, FrequentRestarts, list(names))
			f.NeedsHuman = "read the previous logs: kubectl logs --previous " + names[0] + " -c " + k.container
		default:
			f.Message = fmt.Sprintf("container %s is in %s in %s: %s", k.container, k.problem, list(names), waitingProblems[k.problem])
			f.NeedsHuman = "kubectl describe pod " + names[0] + " shows the cause in its events"
		}
		out = append(out, f)
	}
	if want, have, ok := availability(s.Workload); ok && have < want {
		out = append(out, rules.Finding{Severity: rules.Medium, Message: fmt.Sprintf("%d of %d desired pods are available", have, want),
			NeedsHuman: "kubectl rollout status " + s.Workload.Ref() + " and the pods' events say what holds the rest back"})
	}
	return out
}

// availability returns desired and available pods from the workload's
// status, for kinds that keep a count.
func availability(w *inspect.Workload) (want, have int32, ok bool) {
	switch {
	case w.Deployment != nil:
		if w.Deployment.Status.ObservedGeneration == 0 {
			return 0, 0, false
		}
		return w.Replicas(), w.Deployment.Status.AvailableReplicas, true
	case w.StatefulSet != nil:
		if w.StatefulSet.Status.ObservedGeneration == 0 {
			return 0, 0, false
		}
		return w.Replicas(), w.StatefulSet.Status.AvailableReplicas, true
	case w.DaemonSet != nil:
		if w.DaemonSet.Status.ObservedGeneration == 0 {
			return 0, 0, false
		}
		return w.DaemonSet.Status.DesiredNumberScheduled, w.DaemonSet.Status.NumberAvailable, true
	}
	return 0, 0, false
}

func list(pods []string) string {
	if len(pods) == 1 {
		return "pod " + pods[0]
	}
	return fmt.Sprintf("%d pods (%s, …)", len(pods), pods[0])
}

// Fix never changes anything: every finding needs a human.
func (Rule) Fix(*inspect.Snapshot, rules.Finding, rules.Params) (*rules.Fix, error) {
	return nil, rules.NeedsHumanf("pod health needs a human: read the pod's events and logs")
}
