package apply

import (
	"context"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// The rollout is watched as kubectl rollout status watches it: one list
// and one watch of the workload, selected by metadata.name, and one list
// and one watch of its pods, however long the rollout lasts — nothing is
// read between events. Each new status line reaches progress once, in
// order.
func TestWaitRolloutWatchesInsteadOfPolling(t *testing.T) {
	d := web()
	d.Status.UpdatedReplicas, d.Status.AvailableReplicas = 0, 2
	f := newFakeAPI(t, d)
	a := f.applier()
	o := &plan.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	lines := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- a.WaitRollout(context.Background(), o, 30*time.Second, func(s string) { lines <- s }, a.stuckPod)
	}()
	next := func() string {
		t.Helper()
		select {
		case s := <-lines:
			return s
		case err := <-done:
			t.Fatalf("the watch ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no status line within 10s")
		}
		return ""
	}
	status := func(updated, available int64) {
		t.Helper()
		obj, err := f.tracker.Get(deployments, "shop", "web")
		if err != nil {
			t.Fatal(err)
		}
		u := obj.(*unstructured.Unstructured)
		_ = unstructured.SetNestedField(u.Object, updated, "status", "updatedReplicas")
		_ = unstructured.SetNestedField(u.Object, available, "status", "availableReplicas")
		if err := f.tracker.Update(deployments, u, "shop"); err != nil {
			t.Fatal(err)
		}
	}
	got := []string{next()}
	// A second and a half without a change: a poll every 500ms would read
	// three times.
	time.Sleep(1500 * time.Millisecond)
	reads := counts(f)
	status(1, 2)
	got = append(got, next())
	status(2, 1)
	got = append(got, next())
	status(2, 2)
	got = append(got, next())
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{
		`Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been updated...` + "\n",
		`Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...` + "\n",
		`Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...` + "\n",
		`deployment "web" successfully rolled out` + "\n",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("progress:\n got %q\nwant %q", got, want)
	}
	// Held reads the workload once; the watch lists and watches it, and
	// its pods, once each.
	wantReads := map[string]int{"get deployments": 1, "list deployments": 1, "watch deployments": 1, "list pods": 1, "watch pods": 1}
	if !reflect.DeepEqual(reads, wantReads) {
		t.Errorf("requests before the first change: %v, want %v", reads, wantReads)
	}
	if after := counts(f); !reflect.DeepEqual(after, wantReads) {
		t.Errorf("requests over the whole rollout: %v, want %v", after, wantReads)
	}
	for _, act := range f.Actions() {
		if l, ok := act.(k8stesting.ListActionImpl); ok && l.GetResource().Resource == "deployments" {
			if sel := l.GetListRestrictions().Fields.String(); sel != "metadata.name=web" {
				t.Errorf("the workload is listed with field selector %q", sel)
			}
		}
		if l, ok := act.(k8stesting.ListActionImpl); ok && l.GetResource().Resource == "pods" {
			if sel := l.GetListRestrictions().Labels.String(); sel != "app=web" {
				t.Errorf("the pods are listed with label selector %q", sel)
			}
		}
	}
}

// counts tallies the requests the fake API received by verb and resource.
func counts(f *fakeAPI) map[string]int {
	out := map[string]int{}
	for _, act := range f.Actions() {
		out[act.GetVerb()+" "+act.GetResource().Resource]++
	}
	return out
}

// A workload deleted during its rollout ends the watch at once, in
// Kubernetes' words.
func TestWaitRolloutWorkloadDeleted(t *testing.T) {
	d := web()
	d.Status.UpdatedReplicas = 0
	f := newFakeAPI(t, d)
	a := f.applier()
	o := &plan.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	done := make(chan error, 1)
	started := make(chan struct{}, 1)
	go func() {
		done <- a.WaitRollout(context.Background(), o, 30*time.Second, func(string) { started <- struct{}{} }, nil)
	}()
	<-started
	if err := f.Resource(deployments).Namespace("shop").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || err.Error() != `rollout of deployment.apps/web: deployments.apps "web" not found` {
			t.Errorf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end when the workload was deleted")
	}
}
