package inspect

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apitypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// sharedNamespace is a namespace of three Deployments (web-0…2, each with
// its pods, a Service and a PDB), a client that refuses RoleBindings, and
// its workloads.
func sharedNamespace(t *testing.T) (*fake.Clientset, []*Workload) {
	t.Helper()
	objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}
	var ws []*Workload
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: apitypes.UID("uid-" + name)},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}}}
		one := intstr.FromInt32(1)
		objs = append(objs, d,
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-a", Namespace: "shop", Labels: labels}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: corev1.ServiceSpec{Selector: labels}},
			&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
				Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}}})
		w := workloadOf(t, d)
		ws = append(ws, w)
	}
	client := fake.NewClientset(objs...)
	client.PrependReactor("list", "rolebindings", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}, "", errors.New("no"))
	})
	return client, ws
}

// Sharing, the snapshots of a namespace's workloads read the namespace
// once: the same snapshots (related objects, neighbourhood, what was
// refused) for fewer requests, the per-workload reads (pods, the
// ServiceAccount) still each workload's own.
func TestSharedReadsSnapshots(t *testing.T) {
	ctx := context.Background()
	snapshots := func(sharing bool) ([]*Snapshot, int) {
		client, ws := sharedNamespace(t)
		r := &Reader{Client: client}
		if sharing {
			r = r.Sharing()
		}
		cluster, err := r.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before := len(client.Actions())
		var out []*Snapshot
		for _, w := range ws {
			s, err := r.Snapshot(ctx, cluster, w)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out, len(client.Actions()) - before
	}
	alone, aloneRequests := snapshots(false)
	shared, sharedRequests := snapshots(true)
	for i := range alone {
		a, s := *alone[i], *shared[i]
		a.Cluster, s.Cluster = nil, nil
		if !reflect.DeepEqual(a, s) {
			t.Errorf("web-%d: the shared snapshot differs:\n%+v\nwant\n%+v", i, s, a)
		}
		if len(s.Pods) != 1 || s.Pods[0].Name != fmt.Sprintf("web-%d-a", i) || len(s.PDBs) != 1 || len(s.Services) != 1 || len(s.NamespacePDBs) != 3 {
			t.Errorf("web-%d: %d pods, %d PDBs (%d in the namespace), %d services", i, len(s.Pods), len(s.PDBs), len(s.NamespacePDBs), len(s.Services))
		}
		if _, unknown := FindUnread(s.Unread, ResRoleBindings); !unknown {
			t.Errorf("web-%d: the refused RoleBindings are not in Unread: %v", i, s.Unread)
		}
	}
	perWorkload := (aloneRequests - sharedRequests) / (len(alone) - 1)
	if sharedRequests >= aloneRequests || perWorkload < 10 {
		t.Errorf("shared: %d requests, alone %d: want the namespace's reads (10 or more) sent once", sharedRequests, aloneRequests)
	}
}
