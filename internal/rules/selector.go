package rules

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// controllerLabels are the labels controllers put on the pods they make
// (and the API server on a Job's template), naming one revision, one pod or
// one Job: a companion selecting them would lose the workload's pods at the
// next rollout, or select only some of them.
var controllerLabels = map[string]bool{
	"pod-template-hash":                        true, // Deployment → ReplicaSet
	"controller-revision-hash":                 true, // StatefulSet, DaemonSet
	"pod-template-generation":                  true, // DaemonSet
	"statefulset.kubernetes.io/pod-name":       true,
	"apps.kubernetes.io/pod-index":             true,
	"controller-uid":                           true, // Job
	"job-name":                                 true,
	"batch.kubernetes.io/controller-uid":       true,
	"batch.kubernetes.io/job-name":             true,
	"batch.kubernetes.io/job-completion-index": true,
}

// OwnPodSelector returns the label selector a companion object (a
// PodDisruptionBudget, a NetworkPolicy) uses to select exactly the
// workload's own pods, in unstructured LabelSelector form
// ({"matchLabels": {...}} or the workload's own matchExpressions):
//
//   - the workload's spec.selector (matchLabels of its pod template's labels
//     for kinds without one) when it selects no neighbour's pods
//     (Snapshot.Neighbours: the namespace's other workloads, by their pod
//     templates' labels, and the pods none of them controls);
//   - otherwise matchLabels of every label of the pod template but those a
//     controller adds (pod-template-hash…), when they select no neighbour's
//     pods: the template's labels are on every pod the workload makes, so
//     they still select all of them — a live pod of the workload without
//     them (a rollout under way) makes it a NeedsHumanError;
//   - otherwise a NeedsHumanError naming the workloads whose pods carry
//     every label of these pods.
//
// The map is a fresh copy the caller may keep. Neighbours the snapshot
// could not list (Snapshot.NeighbourhoodUnread) are not checked:
// NeighbourWarnings says so.
func OwnPodSelector(s *inspect.Snapshot) (map[string]any, error) {
	neighbours := s.Neighbours()
	own := workloadSelector(s.Workload)
	sel, err := selectorOf(own)
	if err != nil {
		return nil, fmt.Errorf("%s: spec.selector: %w", s.Workload.Ref(), err)
	}
	if len(selected(sel, neighbours)) == 0 {
		return own, nil
	}
	template := map[string]string{}
	for k, v := range s.Workload.PodTemplate().Labels {
		if !controllerLabels[k] {
			template[k] = v
		}
	}
	narrow := labels.SelectorFromSet(template)
	if refs := selected(narrow, neighbours); len(refs) > 0 || len(template) == 0 {
		return nil, NeedsHumanf("pods of %s carry every label of these pods (%s): give the pods a distinguishing label, e.g. app.kubernetes.io/component",
			strings.Join(refs, ", "), narrow.String())
	}
	if missing := unselectedOwnPod(s, narrow); missing != "" {
		return nil, NeedsHumanf("pod %s of this workload lacks some of %s (a rollout under way?), which its selector %s leaves to tell it from %s: run harden again once the rollout is complete",
			missing, narrow.String(), sel.String(), strings.Join(selected(sel, neighbours), ", "))
	}
	return map[string]any{"matchLabels": toAnyMap(template)}, nil
}

// SelectedNeighbours names the neighbours (Snapshot.Neighbours) whose pods
// a label selector selects, e.g. ["deployment/api"]; nil for none or for a
// selector that does not parse (the API server would have refused it).
func SelectedNeighbours(s *inspect.Snapshot, sel *metav1.LabelSelector) []string {
	parsed, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	return selected(parsed, s.Neighbours())
}

// NeighbourWarnings warns, for a fix that creates a companion, that the
// workloads of the kinds the snapshot could not list were not checked
// (none when every kind was listed).
func NeighbourWarnings(s *inspect.Snapshot) []string {
	if len(s.NeighbourhoodUnread) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("could not list %s in namespace %s (forbidden): the selector was checked against the other pods only, not their workloads' templates",
		strings.Join(s.NeighbourhoodUnread, ", "), s.Workload.Namespace())}
}

// workloadSelector is the workload's spec.selector as written (a copy), or
// matchLabels of its pod template's labels for a kind without one (a
// CronJob, a Job without a selector).
func workloadSelector(w *inspect.Workload) map[string]any {
	if spec, ok := w.Object.Object["spec"].(map[string]any); ok && w.CronJob == nil {
		if sel, ok := spec["selector"].(map[string]any); ok && sel != nil {
			return runtime.DeepCopyJSONValue(sel).(map[string]any)
		}
	}
	return map[string]any{"matchLabels": toAnyMap(w.PodTemplate().Labels)}
}

// selectorOf parses an unstructured LabelSelector.
func selectorOf(sel map[string]any) (labels.Selector, error) {
	var typed metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &typed); err != nil {
		return nil, err
	}
	return metav1.LabelSelectorAsSelector(&typed)
}

// selected names the neighbours whose labels sel matches, in order.
func selected(sel labels.Selector, neighbours []inspect.Neighbour) []string {
	var refs []string
	for _, n := range neighbours {
		if sel.Matches(labels.Set(n.Labels)) && !slices.Contains(refs, n.Ref) {
			refs = append(refs, n.Ref)
		}
	}
	return refs
}

// unselectedOwnPod names a live pod of the workload (one it controls) that
// sel does not select, or "".
func unselectedOwnPod(s *inspect.Snapshot, sel labels.Selector) string {
	for i := range s.Pods {
		p := &s.Pods[i]
		owned := s.Workload.CronJob != nil || s.Workload.Controls(metav1.GetControllerOfNoCopy(p), p.Labels)
		if owned && p.DeletionTimestamp == nil && !sel.Matches(labels.Set(p.Labels)) {
			return p.Name
		}
	}
	return ""
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
