package apply

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// ledger is a StatefulSet whose template is restored: the controller has
// observed generation 3 and makes pods from revision ledger-old again.
func ledger(updateRevision string) *appsv1.StatefulSet {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ledger"}}
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "ledger", Namespace: "shop", UID: "sts", Generation: 3},
		Spec:   appsv1.StatefulSetSpec{Selector: sel, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel.MatchLabels}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, UpdateRevision: updateRevision, CurrentRevision: "ledger-old"}}
}

// ledgerPod is a pod of ledger (or of another owner) on a revision, Ready
// or not.
func ledgerPod(name string, owner types.UID, hash string, ready bool) *corev1.Pod {
	p := pod(name, "ledger", owner, hash)
	p.UID = types.UID("uid-" + string(owner) + "-" + name)
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

func podNames(t *testing.T, a *Applier) []string {
	t.Helper()
	list, err := a.Client.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.GetName())
	}
	return names
}

// The forced rollback deletes exactly the pods of the StatefulSet that run
// the failed revision and are not Ready; a Ready pod on it, a pod on the
// restored revision and another owner's stuck pod are kept.
func TestReplaceStuckDeletesOnlyStuckPodsOfTheFailedRevision(t *testing.T) {
	a := fakeApplier(t, ledger("ledger-old"),
		ledgerPod("ledger-0", "sts", "ledger-old", true),
		ledgerPod("ledger-1", "sts", "ledger-bad", true),
		ledgerPod("ledger-2", "sts", "ledger-bad", false),
		ledgerPod("ledger-3", "sts", "ledger-bad", false),
		ledgerPod("stranger", "other", "ledger-bad", false))
	o := &plan.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "ledger"}
	got := a.replaceStuck(context.Background(), o, "ledger-bad", time.Now().Add(5*time.Second))
	if want := []string{"ledger-2", "ledger-3"}; !reflect.DeepEqual(got.Deleted, want) || len(got.Left) != 0 {
		t.Errorf("got %+v, want deleted %v and nothing left", got, want)
	}
	if names, want := podNames(t, a), []string{"ledger-0", "ledger-1", "stranger"}; !reflect.DeepEqual(names, want) {
		t.Errorf("pods left %v, want %v", names, want)
	}
}

// When the controller still makes pods from the failed revision (the
// template is not back), nothing is deleted.
func TestReplaceStuckKeepsPodsWhileTheTemplateIsNotBack(t *testing.T) {
	a := fakeApplier(t, ledger("ledger-bad"), ledgerPod("ledger-0", "sts", "ledger-bad", false))
	o := &plan.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "ledger"}
	got := a.replaceStuck(context.Background(), o, "ledger-bad", time.Now().Add(5*time.Second))
	if len(got.Deleted)+len(got.Left) != 0 || len(podNames(t, a)) != 1 {
		t.Errorf("got %+v, pods %v", got, podNames(t, a))
	}
}

// A delete refused leaves the pod, and says so with the command that
// finishes the rollback; the run's state then does not claim "as it was
// before".
func TestReplaceStuckRefusedSaysWhatIsLeft(t *testing.T) {
	a := fakeApplier(t, ledger("ledger-old"), ledgerPod("ledger-0", "sts", "ledger-bad", false))
	a.Client.(*dynamicfake.FakeDynamicClient).PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "ledger-0", errors.New("no"))
	})
	o := &plan.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "ledger"}
	got := a.replaceStuck(context.Background(), o, "ledger-bad", time.Now().Add(5*time.Second))
	if len(got.Deleted) != 0 || len(got.Left) != 1 ||
		!strings.HasPrefix(got.Left[0], "pod ledger-0 still runs the failed revision (deleting it: ") ||
		!strings.HasSuffix(got.Left[0], "): kubectl delete pod ledger-0 -n shop") {
		t.Fatalf("got %+v", got)
	}
	e := &RolledBackError{Cause: errors.New("rollout failed"), Workload: "statefulset/ledger", Namespace: "shop", Pending: got.Left}
	if s := e.State(); strings.Contains(s, "as it was before") || !strings.Contains(s, "kubectl delete pod ledger-0 -n shop") {
		t.Errorf("state: %s", s)
	}
}

// The failed revision is read only from a StatefulSet whose controller
// observed the change.
func TestFailedRevision(t *testing.T) {
	seen := ledger("ledger-bad")
	unseen := ledger("ledger-old")
	unseen.Name, unseen.Generation = "unseen", 4
	a := fakeApplier(t, seen, unseen)
	for name, want := range map[string]string{"ledger": "ledger-bad", "unseen": ""} {
		if got := a.failedRevision(context.Background(), &plan.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: name}); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if got := a.failedRevision(context.Background(), &plan.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "ledger"}); got != "" {
		t.Errorf("deployment: %q", got)
	}
}

func TestRollbackStateWithReplacedAndPendingPods(t *testing.T) {
	cause := errors.New("rollout of statefulset.apps/ledger failed: pod ledger-0: CreateContainerConfigError")
	e := &RolledBackError{Cause: cause, Workload: "statefulset/ledger", Namespace: "shop", Replaced: []string{"ledger-0"}}
	want := "statefulset/ledger -n shop is as it was before; deleted pod ledger-0, stuck on the failed revision, so it is recreated from the restored template"
	if got := e.State(); got != want {
		t.Errorf("replaced:\n got %s\nwant %s", got, want)
	}
	e.Replaced = []string{"ledger-1", "ledger-2"}
	if got := e.State(); !strings.HasSuffix(got, "; deleted pods ledger-1, ledger-2, stuck on the failed revision, so they are recreated from the restored template") {
		t.Errorf("replaced two: %s", got)
	}
	wait := errors.New("rollout of statefulset.apps/ledger did not complete within 1m0s: Waiting for 1 pods to be ready...")
	e.Pending = []string{notBack(&plan.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "ledger"}, time.Minute, wait)}
	want = "statefulset/ledger -n shop has its spec back, but its pods are not: the pods of statefulset.apps/ledger are not back within 1m0s (Waiting for 1 pods to be ready...); follow with kubectl rollout status statefulset.apps/ledger -n shop"
	if got := e.State(); !strings.HasPrefix(got, want) || strings.Contains(got, "as it was before") {
		t.Errorf("pending:\n got %s\nwant %s…", got, want)
	}
}
