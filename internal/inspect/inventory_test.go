package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// ListedResources names exactly what an audit of every namespace lists: the
// benchmark's floor (`kubectl get` of these) reads the same objects.
func TestListedResourcesMatchInventory(t *testing.T) {
	client := fake.NewClientset()
	r := &Reader{Client: client}
	ctx := context.Background()
	if _, err := r.Cluster(ctx); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true}
	if err := r.EachNamespace(ctx, Scope{Kinds: kinds}, func(*Inventory) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, a := range client.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && !slices.Contains(listed, l.GetResource().Resource) {
			listed = append(listed, l.GetResource().Resource)
		}
	}
	want := slices.Clone(ListedResources)
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("the audit lists %v, ListedResources says %v", listed, want)
	}
}

// EachNamespace hands the namespaces over in the API server's key order
// ("shop-eu" before "shop", as '-' sorts before '/'), each with its own
// objects only, whichever lists hold it.
func TestEachNamespaceJoinsListsByNamespace(t *testing.T) {
	order := []string{"api", "shop-eu", "shop", "zoo"}
	client := fake.NewClientset()
	listed(client, "pods", &corev1.PodList{Items: []corev1.Pod{
		pod("api", "a1"), pod("shop-eu", "e1"), pod("shop-eu", "e2"), pod("shop", "s1"), pod("zoo", "z1")}})
	listed(client, "deployments", &appsv1.DeploymentList{Items: []appsv1.Deployment{
		deployment("shop-eu", "web"), deployment("shop", "api"), deployment("shop", "web")}})
	listed(client, "services", &corev1.ServiceList{Items: []corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "zoo", Name: "svc"}}}})
	listed(client, "namespaces", &corev1.NamespaceList{Items: []corev1.Namespace{
		namespace("api"), namespace("shop"), namespace("shop-eu"), namespace("zoo")}})
	r := &Reader{Client: client}
	var got []string
	byName := map[string]*Inventory{}
	err := r.EachNamespace(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}}, func(inv *Inventory) error {
		got = append(got, inv.Namespace.Name)
		byName[inv.Namespace.Name] = inv
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, order) {
		t.Fatalf("namespaces handed over in order %v, want %v", got, order)
	}
	for ns, inv := range byName {
		for _, p := range inv.Pods {
			if p.Namespace != ns {
				t.Errorf("pod %s/%s handed over with namespace %s", p.Namespace, p.Name, ns)
			}
		}
		for _, w := range inv.Workloads {
			if w.Namespace() != ns {
				t.Errorf("%s of %s handed over with namespace %s", w.Ref(), w.Namespace(), ns)
			}
		}
	}
	if shop := byName["shop"]; len(shop.Workloads) != 2 || shop.Workloads[0].Name() != "api" || len(shop.Pods) != 1 {
		t.Errorf("shop: %d workloads, %d pods", len(shop.Workloads), len(shop.Pods))
	}
	if len(byName["zoo"].Services) != 1 || len(byName["shop-eu"].Workloads) != 1 || len(byName["api"].Workloads) != 0 {
		t.Error("objects handed over with the wrong namespace")
	}
	if snaps := byName["shop-eu"].Snapshots(&Cluster{}); len(snaps) != 1 || len(snaps[0].Pods) != 2 {
		t.Errorf("shop-eu snapshots %v", snaps)
	}
}

// A list out of namespace order cannot be joined as it arrives: it fails
// with ErrUnordered, and a Sorted scope reads it whole and sorts it.
func TestEachNamespaceOutOfOrder(t *testing.T) {
	client := fake.NewClientset()
	listed(client, "pods", &corev1.PodList{Items: []corev1.Pod{pod("b", "1"), pod("a", "1"), pod("b", "2")}})
	r := &Reader{Client: client}
	var got []string
	each := func(inv *Inventory) error {
		got = append(got, fmt.Sprintf("%s:%d", inv.Pods[0].Namespace, len(inv.Pods)))
		return nil
	}
	err := r.EachNamespace(context.Background(), Scope{}, each)
	if !errors.Is(err, ErrUnordered) {
		t.Fatalf("error %v, want ErrUnordered", err)
	}
	got = nil
	if err := r.EachNamespace(context.Background(), Scope{Sorted: true}, each); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a:1", "b:2"}; !slices.Equal(got, want) {
		t.Errorf("sorted: %v, want %v", got, want)
	}
}

// A failed list fails the whole read: no namespace is handed over as if
// its list had ended.
func TestEachNamespaceListError(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", errors.New("no"))
	})
	r := &Reader{Client: client}
	err := r.EachNamespace(context.Background(), Scope{}, func(*Inventory) error { return nil })
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "listing services") {
		t.Errorf("error %v, want listing services: forbidden", err)
	}
}

// A continue token that expired between two pages (the objects changed
// too much meanwhile) says so, rather than the API server's bare 410.
func TestEachNamespaceContinueExpired(t *testing.T) {
	client := fake.NewClientset()
	pages := 0
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if pages++; pages == 1 {
			return true, &corev1.PodList{ListMeta: metav1.ListMeta{Continue: "next"}, Items: []corev1.Pod{pod("a", "1")}}, nil
		}
		return true, nil, apierrors.NewResourceExpired("the provided continue parameter is too old")
	})
	r := &Reader{Client: client}
	err := r.EachNamespace(context.Background(), Scope{ChunkSize: 1}, func(*Inventory) error { return nil })
	if !apierrors.IsResourceExpired(err) || !strings.Contains(err.Error(), "listing pods") || !strings.Contains(err.Error(), "changed too much") {
		t.Errorf("error %v", err)
	}
}

// listed makes the fake client list these items for a resource, in this
// order (its own tracker lists in no order).
func listed(client *fake.Clientset, resource string, list runtime.Object) {
	client.PrependReactor("list", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, list.DeepCopyObject(), nil
	})
}

func namespace(name string) corev1.Namespace {
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func deployment(ns, name string) appsv1.Deployment {
	labels := map[string]string{"app": name}
	return appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}}}
}

func pod(ns, name string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}}}
}

// A workload read by the inventory is the same as one read alone: typed
// form, unstructured form and kind — without its managedFields.
func TestInventoryWorkloadMatchesNewWorkload(t *testing.T) {
	d := deployment("shop", "web")
	d.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	r := &Reader{Client: fake.NewClientset(&d)}
	var inv *Inventory
	err := r.EachNamespace(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}}, func(i *Inventory) error {
		inv = i
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Workloads) != 1 {
		t.Fatalf("%d workloads", len(inv.Workloads))
	}
	got := inv.Workloads[0]
	if got.Object.GetManagedFields() != nil || got.Deployment.ManagedFields != nil {
		t.Error("managedFields kept")
	}
	want, err := NewWorkload(got.Object)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind() != "Deployment" || got.Object.GetAPIVersion() != "apps/v1" || !equality.Semantic.DeepEqual(got.Deployment, want.Deployment) {
		t.Errorf("inventory workload %+v, read alone %+v", got.Deployment, want.Deployment)
	}
}
