package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// A StatefulSet does not replace a pod that never became Ready when its
// template is reverted: with the default OrderedReady pod management the
// controller waits for that pod to be Running and Ready before it does
// anything else, which it never will be. Kubernetes documents the way out
// as a "forced rollback": after reverting the template, delete the pods
// the StatefulSet already tried to run with the bad configuration
// (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).

// failedRevision is the StatefulSet's status.updateRevision as the failed
// rollout left it — the ControllerRevision its bad pods were made from,
// e.g. "ledger-7cfd444cd8" — or "" for another kind, a StatefulSet whose
// controller had not yet observed the change (no pod was made from it
// then), or one that cannot be read.
func (a *Applier) failedRevision(ctx context.Context, o *plan.Object) string {
	if o.Kind != "StatefulSet" || o.Create {
		return ""
	}
	live, err := a.Get(ctx, o)
	if err != nil {
		return ""
	}
	seen, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	if seen < live.GetGeneration() {
		return ""
	}
	rev, _, _ := unstructured.NestedString(live.Object, "status", "updateRevision")
	return rev
}

// Replaced is what a forced rollback did to a StatefulSet's pods.
type Replaced struct {
	// Deleted are the pods deleted, sorted: stuck on the failed revision,
	// the controller recreates them from the restored template.
	Deleted []string
	// Left says, one line each, what is still on the failed revision and
	// the command that finishes it, e.g. "pod ledger-0 still runs the
	// failed revision (deleting it: forbidden): kubectl delete pod
	// ledger-0 -n shop".
	Left []string
}

// replaceStuck does the forced rollback of StatefulSet o once its template
// is restored: it waits (at most until deadline) for the controller to
// observe the restored template, then deletes the pods it controls that
// carry the label controller-revision-hash=failed and are not Ready —
// only those: a Ready pod, even on the failed revision, is left to the
// controller's own rolling update. Each delete is conditioned on the
// pod's UID, so a pod the controller has already recreated is never
// deleted. A pod already gone counts as deleted.
func (a *Applier) replaceStuck(ctx context.Context, o *plan.Object, failed string, deadline time.Time) Replaced {
	var out Replaced
	finish := fmt.Sprintf("kubectl delete pod -n %s -l %s=%s", o.Namespace, appsv1.ControllerRevisionHashLabelKey, failed)
	live, err := a.observed(ctx, o, time.Until(deadline))
	if err != nil {
		out.Left = append(out.Left, fmt.Sprintf("pods on the failed revision %s may be stuck (%s): once it has, %s", failed, oneLine(err.Error()), finish))
		return out
	}
	restored, _, _ := unstructured.NestedString(live.Object, "status", "updateRevision")
	if restored == failed {
		// The template is not back (another manager wrote the same
		// change?): the pods on it are not stuck on a reverted revision.
		return out
	}
	stuck, err := a.stuckOn(ctx, live, failed)
	if err != nil {
		out.Left = append(out.Left, fmt.Sprintf("pods on the failed revision %s could not be listed (%s): %s", failed, Brief(err), finish))
		return out
	}
	pods := a.Client.Resource(podsResource).Namespace(o.Namespace)
	for _, p := range stuck {
		uid := p.UID
		err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			out.Deleted = append(out.Deleted, p.Name)
		case apierrors.IsConflict(err):
			// The UID precondition failed: the pod was already recreated.
			out.Deleted = append(out.Deleted, p.Name)
		default:
			out.Left = append(out.Left, fmt.Sprintf("pod %s still runs the failed revision (deleting it: %s): kubectl delete pod %s -n %s", p.Name, Brief(err), p.Name, o.Namespace))
		}
	}
	return out
}

// stuckOn lists, sorted by name, the pods the StatefulSet sts controls
// that run revision (label controller-revision-hash), are not being
// deleted, and are not Ready.
func (a *Applier) stuckOn(ctx context.Context, sts *unstructured.Unstructured, revision string) ([]corev1.Pod, error) {
	w, err := inspect.NewWorkload(sts)
	if err != nil {
		return nil, err
	}
	sel, err := w.Selector()
	if err != nil {
		return nil, err
	}
	list, err := a.pods().List(ctx, sts.GetNamespace(), metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for i := range list.Items {
		u := &list.Items[i]
		if u.GetDeletionTimestamp() != nil || !controlledBy(u, sts) || u.GetLabels()[appsv1.ControllerRevisionHashLabelKey] != revision {
			continue
		}
		var p corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
			return nil, err
		}
		if ready, _ := inspect.PodReady(&p); !ready {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// replacedNote says which pods a forced rollback deleted, e.g. "deleted
// pod ledger-0, stuck on the failed revision, so it is recreated from the
// restored template"; "" when none.
func replacedNote(deleted []string) string {
	switch len(deleted) {
	case 0:
		return ""
	case 1:
		return "deleted pod " + deleted[0] + ", stuck on the failed revision, so it is recreated from the restored template"
	}
	return "deleted pods " + strings.Join(deleted, ", ") + ", stuck on the failed revision, so they are recreated from the restored template"
}
