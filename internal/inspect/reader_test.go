package inspect

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// A Snapshot costs the same number of requests whatever the namespace
// holds: the client's recorded actions do not grow with the pods.
func TestSnapshotRequestsConstant(t *testing.T) {
	count := func(pods int) int {
		objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}
		for i := range pods {
			objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: "shop", Labels: map[string]string{"app": "web"}}})
			objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: "shop"},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": fmt.Sprint(i)}}})
		}
		client := fake.NewClientset(objs...)
		r := &Reader{Client: client}
		cluster, err := r.Cluster(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		dep := &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}},
		}
		w := workloadOf(t, dep)
		s, err := r.Snapshot(context.Background(), cluster, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Pods) != pods || len(s.Services) != 0 {
			t.Errorf("%d pods, %d services in the snapshot", len(s.Pods), len(s.Services))
		}
		return len(client.Actions())
	}
	small, large := count(1), count(300)
	if small != large {
		t.Errorf("requests grow with the namespace: %d for 1 pod, %d for 300", small, large)
	}
}

// workloadOf is a typed workload (its TypeMeta set) as a Workload.
func workloadOf(t *testing.T, obj runtime.Object) *Workload {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorkload(&unstructured.Unstructured{Object: m})
	if err != nil {
		t.Fatal(err)
	}
	return w
}
