package inspect

import (
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// overlapObjects is the shop: deployment/web selects {app: shop}
// (its pods also carry tier: web), deployment/api's pods are {app: shop,
// tier: api}. web's selector matches api's pods too.
func overlapObjects() (*appsv1.Deployment, []runtime.Object) {
	yes := true
	pod := func(name string, l map[string]string, rs string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: l}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if rs != "" {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, Controller: &yes}}
		}
		return p
	}
	web := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop", "tier": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "web:1"}}}}}}
	api := web.DeepCopy()
	api.Name, api.Spec.Selector.MatchLabels = "api", map[string]string{"app": "shop", "tier": "api"}
	api.Spec.Template.Labels = map[string]string{"app": "shop", "tier": "api"}
	return web, []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, web, api,
		pod("web-5d8f-a", map[string]string{"app": "shop", "tier": "web", "pod-template-hash": "5d8f"}, "web-5d8f"),
		pod("api-77aa-a", map[string]string{"app": "shop", "tier": "api", "pod-template-hash": "77aa"}, "api-77aa"),
		pod("orphan", map[string]string{"app": "shop", "tier": "web"}, ""),
	}
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

// A workload's pods are those it controls (and orphans, which its
// controller adopts), not every pod its selector matches: api's pods,
// which web's broad selector also matches, are api's. Their Leases,
// users, usage and start times are not web's. Both roads agree.
func TestSnapshotPodsAreTheWorkloads(t *testing.T) {
	web, objs := overlapObjects()
	w := workloadOf(t, web)
	r := &Reader{Client: fake.NewClientset(objs...)}
	s, err := r.Snapshot(context.Background(), &Cluster{}, w)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"orphan", "web-5d8f-a"}
	if got := podNames(s.Pods); !slices.Equal(got, want) {
		t.Errorf("reader: web's pods %v, want %v", got, want)
	}
	err = r.EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}}, func(inv *Inventory) error {
		for _, s := range inv.Snapshots(&Cluster{}) {
			if s.Workload.Name() == "web" {
				if got := podNames(s.Pods); !slices.Equal(got, want) {
					t.Errorf("audit: web's pods %v, want %v", got, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
