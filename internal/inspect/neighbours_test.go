package inspect

import (
	"context"
	"errors"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// neighbourhoodObjects is a namespace with a workload of every kind, the
// pods they made, a bare pod, a ReplicationController's pod and a pod that
// has finished.
func neighbourhoodObjects() []runtime.Object {
	yes := true
	owned := func(name string, l map[string]string, kind, owner string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: l}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: owner, Controller: &yes}}
		}
		return p
	}
	tmpl := func(l map[string]string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}}
	}
	web, api := deployment("shop", "web"), deployment("shop", "api")
	web.Spec.Template.Labels = map[string]string{"app": "shop", "tier": "web"}
	api.Spec.Template.Labels = map[string]string{"app": "shop", "tier": "api"}
	db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"}, Spec: appsv1.StatefulSetSpec{Template: tmpl(map[string]string{"app": "db"})}}
	agent := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop"}, Spec: appsv1.DaemonSetSpec{Template: tmpl(map[string]string{"app": "agent"})}}
	backup := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "shop"},
		Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl(map[string]string{"app": "backup"})}}}}
	backupRun := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "backup-1", Namespace: "shop",
		OwnerReferences: []metav1.OwnerReference{{Kind: "CronJob", Name: "backup", Controller: &yes}}},
		Spec: batchv1.JobSpec{Template: tmpl(map[string]string{"app": "backup", "job-name": "backup-1"})}}
	migrate := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop"}, Spec: batchv1.JobSpec{Template: tmpl(map[string]string{"app": "migrate"})}}
	done := owned("old-debug", map[string]string{"app": "shop"}, "", "")
	done.Status.Phase = corev1.PodSucceeded
	return []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, &web, &api, db, agent, backup, backupRun, migrate,
		owned("web-5d8f-a", map[string]string{"app": "shop", "tier": "web", "pod-template-hash": "5d8f"}, "ReplicaSet", "web-5d8f"),
		owned("api-77aa-a", map[string]string{"app": "shop", "tier": "api", "pod-template-hash": "77aa"}, "ReplicaSet", "api-77aa"),
		owned("db-0", map[string]string{"app": "db"}, "StatefulSet", "db"),
		owned("agent-x", map[string]string{"app": "agent"}, "DaemonSet", "agent"),
		owned("backup-1-x", map[string]string{"app": "backup", "job-name": "backup-1"}, "Job", "backup-1"),
		owned("debug", map[string]string{"app": "shop", "run": "debug"}, "", ""),
		owned("legacy-x", map[string]string{"app": "legacy"}, "ReplicationController", "legacy"),
		done,
	}
}

func refs(ns []Neighbour) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Ref)
	}
	slices.Sort(out)
	return out
}

// webWorkload is deployment/web of neighbourhoodObjects, read alone.
func webWorkload(t *testing.T, objs []runtime.Object) *Workload {
	t.Helper()
	d := objs[1].(*appsv1.Deployment).DeepCopy()
	d.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	return workloadOf(t, d)
}

// The Reader and the audit's Inventory see the same neighbourhood: each
// workload by its template, CronJobs' Jobs through their CronJob, and the
// pods no workload controls (a bare pod, a ReplicationController's), not
// those that finished; Neighbours leaves the workload itself out.
func TestNeighbourhoodReaderAndInventoryAgree(t *testing.T) {
	objs := neighbourhoodObjects()
	want := []string{"cronjob/backup", "daemonset/agent", "deployment/api", "deployment/web", "job/migrate", "pod/debug", "pod/legacy-x", "statefulset/db"}
	r := &Reader{Client: fake.NewClientset(objs...)}
	s, err := r.Snapshot(context.Background(), &Cluster{}, webWorkload(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(s.Neighbourhood); !slices.Equal(got, want) || s.NeighbourhoodUnread != nil {
		t.Errorf("reader: neighbourhood %v (unread %v), want %v", got, s.NeighbourhoodUnread, want)
	}
	if got := refs(s.Neighbours()); slices.Contains(got, "deployment/web") || len(got) != len(want)-1 {
		t.Errorf("neighbours of web: %v", got)
	}

	all := map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true}
	snapshot := func(kinds map[string]bool) *Snapshot {
		var web *Snapshot
		err := r.EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: kinds}, func(inv *Inventory) error {
			for _, s := range inv.Snapshots(&Cluster{}) {
				if s.Workload.Ref() == "deployment/web" {
					web = s
				}
			}
			return nil
		})
		if err != nil || web == nil {
			t.Fatalf("audit: %v, web found: %v", err, web != nil)
		}
		return web
	}
	if got := refs(snapshot(all).Neighbourhood); !slices.Equal(got, want) {
		t.Errorf("audit: neighbourhood %v, want %v", got, want)
	}
	// An audit of Deployments only sees the other kinds' pods as pods, and
	// a CronJob's Jobs (always listed) as Jobs.
	got := refs(snapshot(map[string]bool{"Deployment": true}).Neighbourhood)
	if want := []string{"deployment/api", "deployment/web", "job/backup-1", "job/migrate", "pod/agent-x", "pod/db-0", "pod/debug", "pod/legacy-x"}; !slices.Equal(got, want) {
		t.Errorf("audit of deployments: neighbourhood %v, want %v", got, want)
	}
}

// A kind the user may not list does not fail the inspection: it is named
// unread, and the pods of its workloads are still seen as pods.
func TestNeighbourhoodForbiddenKind(t *testing.T) {
	objs := neighbourhoodObjects()
	client := fake.NewClientset(objs...)
	client.PrependReactor("list", "statefulsets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "statefulsets"}, "", errors.New("no"))
	})
	r := &Reader{Client: client}
	s, err := r.Snapshot(context.Background(), &Cluster{}, webWorkload(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.NeighbourhoodUnread, []string{"statefulsets"}) {
		t.Errorf("unread %v", s.NeighbourhoodUnread)
	}
	if got := refs(s.Neighbourhood); !slices.Contains(got, "pod/db-0") || slices.Contains(got, "statefulset/db") {
		t.Errorf("neighbourhood %v: want pod/db-0 in place of statefulset/db", got)
	}
	// Any other error still fails it.
	client.PrependReactor("list", "daemonsets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd down"))
	})
	if _, err := r.Snapshot(context.Background(), &Cluster{}, webWorkload(t, objs)); err == nil {
		t.Error("an internal error listing daemonsets did not fail the inspection")
	}
}
