package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

func TestOnDeleteNote(t *testing.T) {
	for _, tc := range []struct {
		old  []string
		want string
	}{
		{nil, "OnDelete — not watched; every pod already runs the current revision"},
		{[]string{"db-0"}, "OnDelete — 1 pod (db-0) still runs the old revision; it takes the change when deleted: kubectl delete pod db-0 -n shop"},
		{[]string{"db-0", "db-1", "db-2"}, "OnDelete — 3 pods (db-0, db-1, db-2) still run the old revision; they take the change when deleted, one at a time: kubectl delete pod db-0 -n shop"},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, "OnDelete — 7 pods (a, b, c, d, e and 2 more) still run"},
	} {
		if got := onDeleteNote(tc.old, "shop"); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v:\n got %q\nwant %q…", tc.old, got, tc.want)
		}
	}
}

// An immutable field refused by the API server is told without the Go dump
// of its value.
func TestExplainInvalid(t *testing.T) {
	dump := `core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", Labels:map[string]string{"app":"x"}}, Spec:core.PodSpec{Containers:[]core.Container{core.Container{Name:"x"}}}}`
	err := apierrors.NewInvalid(schema.GroupKind{Group: "batch", Kind: "Job"}, "migrate", field.ErrorList{
		field.Invalid(field.NewPath("spec", "template"), dump, "field is immutable"),
		field.Invalid(field.NewPath("spec", "backoffLimit"), -1, "must be greater than or equal to 0"),
	})
	got := explain(&plan.Object{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate"}, err)
	want := "shop/job.batch/migrate is invalid: spec.template: field is immutable; spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"
	if got.Error() != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if !apierrors.IsInvalid(errors.Unwrap(got)) {
		t.Error("the API error is not kept")
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("Waiting for 1 pods to be ready...\n  partition\r\n"); got != "Waiting for 1 pods to be ready...; partition" {
		t.Errorf("%q", got)
	}
}

// fakeApplier serves objs from a fake dynamic client.
func fakeApplier(t *testing.T, objs ...runtime.Object) *Applier {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		appsv1.SchemeGroupVersion.WithKind("Deployment"), appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		appsv1.SchemeGroupVersion.WithKind("DaemonSet"), appsv1.SchemeGroupVersion.WithKind("ControllerRevision"),
		corev1.SchemeGroupVersion.WithKind("Pod"),
	} {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	return &Applier{Client: dynamicfake.NewSimpleDynamicClient(scheme, objs...), Mapper: mapper, FieldManager: "kubectl-harden"}
}

func pod(name, owner string, uid types.UID, hash string) *corev1.Pod {
	yes := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop",
		Labels:          map[string]string{"app": owner, appsv1.ControllerRevisionHashLabelKey: hash},
		OwnerReferences: []metav1.OwnerReference{{Name: owner, UID: uid, Controller: &yes}}}}
}

// Held names the pods of an OnDelete StatefulSet or DaemonSet that still
// run the old revision, says a paused Deployment rolls out on resume, and
// lets everything else be watched.
func TestHeld(t *testing.T) {
	yes := true
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "sts", Generation: 2},
		Spec: appsv1.StatefulSetSpec{Selector: sel, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel.MatchLabels}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, UpdateRevision: "db-new"}}
	dsSel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop", UID: "ds", Generation: 3},
		Spec: appsv1.DaemonSetSpec{Selector: dsSel, UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: dsSel.MatchLabels}}},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 3}}
	revision := func(name, hash string, n int64) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop",
			Labels:          map[string]string{"app": "agent", appsv1.ControllerRevisionHashLabelKey: hash},
			OwnerReferences: []metav1.OwnerReference{{Name: "agent", UID: "ds", Controller: &yes}}}, Revision: n}
	}
	paused := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Paused: true}}
	rolling := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"}}
	a := fakeApplier(t, sts, ds, paused, rolling,
		pod("db-0", "db", "sts", "db-old"), pod("db-1", "db", "sts", "db-new"), pod("db-2", "db", "sts", "db-old"),
		pod("stranger", "db", "other", "db-old"),
		revision("agent-aaa", "aaa", 1), revision("agent-bbb", "bbb", 2),
		pod("agent-x", "agent", "ds", "aaa"), pod("agent-y", "agent", "ds", "bbb"))
	for _, tc := range []struct {
		kind, name, want string
	}{
		{"StatefulSet", "db", "OnDelete — 2 pods (db-0, db-2) still run the old revision; they take the change when deleted, one at a time: kubectl delete pod db-0 -n shop"},
		{"DaemonSet", "agent", "OnDelete — 1 pod (agent-x) still runs the old revision; it takes the change when deleted: kubectl delete pod agent-x -n shop"},
		{"Deployment", "web", "paused — not watched; the change rolls out on resume (kubectl rollout resume deployment/web -n shop)"},
		{"Deployment", "api", ""},
	} {
		got, err := a.Held(context.Background(), &plan.Object{APIVersion: "apps/v1", Kind: tc.kind, Namespace: "shop", Name: tc.name}, time.Second)
		if err != nil || got != tc.want {
			t.Errorf("%s/%s:\n got %q, %v\nwant %q", tc.kind, tc.name, got, err, tc.want)
		}
	}
}

// A wait ended by the caller says so, and a timeout says what the rollout
// was waiting for; neither leaks client-go's wording.
func TestWaitRolloutEnds(t *testing.T) {
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: &one}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1}}
	a := fakeApplier(t, d)
	o := &plan.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.WaitRollout(ctx, o, time.Minute, nil, nil)
	if err == nil || err.Error() != "stopped watching the rollout of deployment.apps/api: context deadline exceeded" {
		t.Errorf("cancelled: %v", err)
	}

	err = a.WaitRollout(context.Background(), o, 700*time.Millisecond, nil, nil)
	want := `rollout of deployment.apps/api did not complete within 700ms: Waiting for deployment "api" rollout to finish: 0 out of 1 new replicas have been updated...`
	if err == nil || err.Error() != want {
		t.Errorf("timeout:\n got %v\nwant %s", err, want)
	}
}

// A list or watch the API server does not answer (an API server
// restarting: connection refused, 503, throttling) does not fail a healthy
// rollout: the watch is made again until the rollout completes. An answer
// that is the rollout's own signal, or a refusal, still ends it.
func TestWaitRolloutToleratesTransientErrors(t *testing.T) {
	one := int32(1)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Generation: 1},
		Spec:   appsv1.DeploymentSpec{Replicas: &one, Selector: sel},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}}
	o := &plan.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:26443/apis/apps/v1/namespaces/shop/deployments/api",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	defer func(p, m time.Duration) { retryEvery, maxRetryEvery = p, m }(retryEvery, maxRetryEvery)
	retryEvery, maxRetryEvery = 20*time.Millisecond, 100*time.Millisecond
	faults := []error{refused, apierrors.NewServiceUnavailable("etcd is restarting"), apierrors.NewTooManyRequests("slow down", 1), refused}

	a := fakeApplier(t, d)
	calls := 0
	a.Client.(*dynamicfake.FakeDynamicClient).PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		if calls <= len(faults) {
			return true, nil, faults[calls-1]
		}
		return false, nil, nil
	})
	if err := a.WaitRollout(context.Background(), o, time.Minute, nil, nil); err != nil {
		t.Errorf("a healthy rollout behind %d unanswered lists: %v", len(faults), err)
	}
	if calls != len(faults)+1 {
		t.Errorf("%d lists, want the %d faults retried and one answer", calls, len(faults))
	}

	// Never answered: the timeout says why, in a few words.
	a = fakeApplier(t, d)
	a.Client.(*dynamicfake.FakeDynamicClient).PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, refused
	})
	err := a.waitRollout(context.Background(), o, 500*time.Millisecond, nil, nil)
	want := "rollout of deployment.apps/api did not complete within 500ms: the API server refused the connection"
	if err == nil || err.Error() != want {
		t.Errorf("never answered:\n got %v\nwant %s", err, want)
	}

	// A refusal is an answer: it is not retried.
	a = fakeApplier(t, d)
	calls = 0
	a.Client.(*dynamicfake.FakeDynamicClient).PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "api", errors.New("no"))
	})
	err = a.waitRollout(context.Background(), o, time.Minute, nil, nil)
	if err == nil || calls != 1 || !strings.HasPrefix(err.Error(), "rollout of deployment.apps/api: ") {
		t.Errorf("forbidden: %d lists, %v", calls, err)
	}

	// A pod that will not recover fails the rollout at once.
	rolling := &appsv1.Deployment{ObjectMeta: d.ObjectMeta, Spec: d.Spec, Status: appsv1.DeploymentStatus{ObservedGeneration: 1}}
	crashing := pod("api-1", "api", "rs", "new")
	a = fakeApplier(t, rolling, crashing)
	failing := func(_ *unstructured.Unstructured, pods []corev1.Pod) string {
		for _, p := range pods {
			if p.Name == "api-1" {
				return "pod api-1 is in CrashLoopBackOff"
			}
		}
		return ""
	}
	err = a.waitRollout(context.Background(), o, time.Minute, nil, failing)
	if err == nil || err.Error() != "rollout of deployment.apps/api failed: pod api-1 is in CrashLoopBackOff" {
		t.Errorf("failing pod: %v", err)
	}
	// …but a pod list the API server did not answer does not.
	a = fakeApplier(t, rolling, crashing)
	flaky := &flakyPods{PodLister: DynamicPods{Client: a.Client}, faults: 2}
	a.Pods = flaky
	err = a.waitRollout(context.Background(), o, time.Minute, nil, failing)
	if err == nil || flaky.lists != 3 || !strings.Contains(err.Error(), "CrashLoopBackOff") {
		t.Errorf("flaky pod list: %d lists, %v", flaky.lists, err)
	}
}

// flakyPods is a PodLister whose first faults lists fail with a 500.
type flakyPods struct {
	PodLister
	faults, lists int
}

func (f *flakyPods) List(ctx context.Context, ns string, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	if f.lists++; f.lists <= f.faults {
		return nil, apierrors.NewInternalError(errors.New("boom"))
	}
	return f.PodLister.List(ctx, ns, opts)
}

func (f *flakyPods) IsWatchListSemanticsUnSupported() bool { return true }

func TestBrief(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:1/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, "the API server refused the connection"},
		{apierrors.NewServiceUnavailable("x"), "the API server answered 503 Service Unavailable"},
		{apierrors.NewTooManyRequests("x", 1), "the API server is throttling requests (429 Too Many Requests)"},
		{apierrors.NewTimeoutError("x", 1), "the API server answered 504 Gateway Timeout"},
		{fmt.Errorf("client rate limiter Wait returned an error: %w", context.DeadlineExceeded), "the API server did not answer in time"},
		{io.ErrUnexpectedEOF, "the API server closed the connection"},
	} {
		if got := Brief(tc.err); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

// A rollback waits for the old pods at most two minutes, less when the
// run's timeout is shorter.
func TestRollbackWait(t *testing.T) {
	if RollbackWait(5*time.Minute) != 2*time.Minute || RollbackWait(30*time.Second) != 30*time.Second {
		t.Error(RollbackWait(5*time.Minute), RollbackWait(30*time.Second))
	}
}
