package apply

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/applyconfigurations"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

// fakeAPI is a dynamic fake client whose objects live in client-go's
// field-managed object tracker: server-side apply merges, records
// managedFields and reports conflicts as the API server does, so Apply,
// Undo and the rollback run against real apply semantics. A dry-run
// write is undone after it is read.
type fakeAPI struct {
	*dynamicfake.FakeDynamicClient
	tracker k8stesting.ObjectTracker
	mapper  meta.RESTMapper
}

func newFakeAPI(t *testing.T, objs ...runtime.Object) *fakeAPI {
	t.Helper()
	typedScheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(typedScheme); err != nil {
		t.Fatal(err)
	}
	// Only the kinds the tests use: the tracker finds a resource's kind
	// among its scheme's.
	plain := runtime.NewScheme()
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		appsv1.SchemeGroupVersion.WithKind("Deployment"), appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		appsv1.SchemeGroupVersion.WithKind("DaemonSet"), appsv1.SchemeGroupVersion.WithKind("ControllerRevision"),
		corev1.SchemeGroupVersion.WithKind("Pod"), policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
	} {
		plain.AddKnownTypeWithName(gvk, &unstructured.Unstructured{})
		plain.AddKnownTypeWithName(gvk.GroupVersion().WithKind(gvk.Kind+"List"), &unstructured.UnstructuredList{})
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	tracker := k8stesting.NewFieldManagedObjectTracker(plain, unstructured.UnstructuredJSONScheme, applyconfigurations.NewTypeConverter(typedScheme))
	for _, o := range objs {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{Object: u}
		gvks, _, err := typedScheme.ObjectKinds(o)
		if err != nil {
			t.Fatal(err)
		}
		obj.SetGroupVersionKind(gvks[0])
		if err := tracker.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	client := dynamicfake.NewSimpleDynamicClient(plain)
	react := k8stesting.ObjectReaction(tracker)
	client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p, ok := a.(k8stesting.PatchActionImpl)
		if !ok || !slices.Contains(p.PatchOptions.DryRun, metav1.DryRunAll) {
			return react(a)
		}
		gvr, ns, name := p.GetResource(), p.GetNamespace(), p.GetName()
		old, err := tracker.Get(gvr, ns, name)
		if err != nil && !apierrors.IsNotFound(err) {
			return true, nil, err
		}
		handled, got, err := react(a)
		switch {
		case old != nil:
			_ = tracker.Update(gvr, old, ns)
		case err == nil:
			_ = tracker.Delete(gvr, ns, name)
		}
		return handled, got, err
	})
	client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w, err := tracker.Watch(a.GetResource(), a.GetNamespace())
		return true, w, err
	})
	return &fakeAPI{FakeDynamicClient: client, tracker: tracker, mapper: mapper}
}

// applier is an Applier on the fake API, as field manager kubectl-harden.
func (f *fakeAPI) applier() *Applier {
	return &Applier{Client: f.FakeDynamicClient, Mapper: f.mapper, FieldManager: "kubectl-harden"}
}
