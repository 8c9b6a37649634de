package inspect

import (
	"context"
	"os"
	"runtime/debug"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	if _, err := r.Inventory(ctx, Scope{Kinds: kinds}); err != nil {
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

// TightGC lowers the GC target while any caller holds it, and restores it
// when the last one is done, whatever the order.
func TestTightGCRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	a := TightGC()
	b := TightGC()
	if got := debug.SetGCPercent(25); got != 25 {
		t.Errorf("GC percent %d while held, want 25", got)
	}
	a()
	a() // a second call changes nothing
	if got := debug.SetGCPercent(25); got != 25 {
		t.Errorf("GC percent %d while still held once, want 25", got)
	}
	b()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d after release, want 100", got)
	}
	t.Setenv("GOGC", "200")
	TightGC()()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d with GOGC set, want it untouched (100)", got)
	}
}

// byNamespace groups a list in namespace order without copying it, a list
// in another order without reordering it, and caps each group so that
// appending to it never overwrites the next group.
func TestByNamespace(t *testing.T) {
	sorted := []corev1.Pod{pod("a", "1"), pod("a", "2"), pod("b", "1"), pod("b", "2"), pod("c", "1")}
	groups := byNamespace(sorted, func(p *corev1.Pod) string { return p.Namespace })
	if &groups["a"][0] != &sorted[0] || &groups["b"][1] != &sorted[3] {
		t.Error("the groups of a sorted list are copies, not subslices")
	}
	_ = append(groups["a"], pod("x", "x"))
	if groups["b"][0].Namespace != "b" {
		t.Error("appending to a group overwrote the next one")
	}
	pods := []corev1.Pod{pod("b", "1"), pod("a", "1"), pod("b", "2"), pod("a", "2"), pod("c", "1")}
	groups = byNamespace(pods, func(p *corev1.Pod) string { return p.Namespace })
	if pods[0].Namespace != "b" || pods[1].Namespace != "a" {
		t.Error("the list was reordered")
	}
	if len(groups) != 3 || len(groups["a"]) != 2 || len(groups["b"]) != 2 || len(groups["c"]) != 1 {
		t.Fatalf("groups %v", groups)
	}
	for ns, g := range groups {
		for _, p := range g {
			if p.Namespace != ns {
				t.Errorf("pod %s/%s in group %s", p.Namespace, p.Name, ns)
			}
		}
	}
	if groups["a"][0].Name != "1" || groups["a"][1].Name != "2" {
		t.Errorf("group a %v is not in list order", groups["a"])
	}
}

func pod(ns, name string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// A workload read by the inventory is the same as one read alone: typed
// form, unstructured form and kind — without its managedFields.
func TestInventoryWorkloadMatchesNewWorkload(t *testing.T) {
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}}}
	r := &Reader{Client: fake.NewClientset(d)}
	inv, err := r.Inventory(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}})
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
