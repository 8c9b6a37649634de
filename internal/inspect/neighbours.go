package inspect

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Neighbour is one source of pods in a namespace, known by the labels its
// pods carry: a workload (by its pod template's labels, which every pod it
// makes carries, present or to come) or a pod that no listed workload
// controls (a bare pod, a pod of a ReplicationController or of a custom
// controller: by its own labels).
type Neighbour struct {
	// Ref names it the kubectl way: "deployment/api", "pod/debug".
	Ref    string
	Labels map[string]string
	// UID is the object's UID ("" in fixtures).
	UID types.UID
	// Controller is the object's controller (a Job's CronJob, a pod's
	// ReplicaSet…), nil for none.
	Controller *metav1.OwnerReference
}

// WorkloadNeighbour is a workload as a Neighbour: its pod template's labels.
func WorkloadNeighbour(w *Workload) Neighbour {
	return Neighbour{Ref: w.Ref(), Labels: w.PodTemplate().Labels, UID: w.Object.GetUID(),
		Controller: metav1.GetControllerOfNoCopy(w.Object)}
}

// Neighbours are the Neighbourhood without the workload itself: the other
// workloads of the namespace and the pods none of them controls, whose pods
// a companion's selector must leave alone. A Job made by a CronJob leaves
// out its CronJob and the CronJob's other Jobs too: they are the same pods.
func (s *Snapshot) Neighbours() []Neighbour {
	out := make([]Neighbour, 0, len(s.Neighbourhood))
	w := s.Workload
	ref, cron := w.Ref(), w.CronJobOwner()
	for _, n := range s.Neighbourhood {
		switch {
		case n.Ref == ref, w.Controls(n.Controller, n.Labels):
		case cron != "" && (n.Ref == "cronjob/"+cron || n.Controller != nil && n.Controller.Kind == "CronJob" && n.Controller.Name == cron):
		default:
			out = append(out, n)
		}
	}
	return out
}

// Controls reports whether ref, the controller of an object carrying these
// labels (a pod, a Job), is this workload: by UID, by kind and name, or for
// a Deployment through its ReplicaSets, named DEPLOYMENT-HASH where HASH is
// the pod's pod-template-hash label.
func (w *Workload) Controls(ref *metav1.OwnerReference, labels map[string]string) bool {
	switch {
	case ref == nil:
		return false
	case ref.UID != "" && ref.UID == w.Object.GetUID():
		return true
	case ref.Kind == w.Kind() && ref.Name == w.Name():
		return true
	}
	return w.Deployment != nil && deploymentOf(ref, labels) == w.Name()
}

// OwnPods keeps, of the pods the workload's selector matches, those that
// are its own: the pods it controls (Controls: directly, or a
// Deployment's through its ReplicaSets) and the orphans (no controller),
// which its controller adopts. A pod another controller controls belongs
// to a neighbour whose labels the selector also matches (deployment/web
// selecting {app: shop} matches api's {app: shop, tier: api} pods): its
// users, Leases, usage and start times say nothing of this workload. A
// CronJob's pods, found through its Jobs, are returned as they are.
func OwnPods(w *Workload, pods []corev1.Pod) []corev1.Pod {
	if w.CronJob != nil {
		return pods
	}
	var out []corev1.Pod
	for i := range pods {
		ref := metav1.GetControllerOfNoCopy(&pods[i])
		if ref == nil || w.Controls(ref, pods[i].Labels) {
			out = append(out, pods[i])
		}
	}
	return out
}

// neighbourhood collects a namespace's Neighbourhood from what was listed.
type neighbourhood struct {
	out []Neighbour
	// listed are the workloads listed, by "Kind/name": their pods are
	// their template. A Deployment's pods are its ReplicaSets', named
	// DEPLOYMENT-HASH.
	listed map[string]bool
}

func newNeighbourhood() *neighbourhood { return &neighbourhood{listed: map[string]bool{}} }

// workload adds a listed workload. Call it for every CronJob before any
// Job: a Job made by a listed CronJob is not a neighbour of its own.
func (h *neighbourhood) workload(kind string, obj metav1.Object, template map[string]string) {
	h.listed[kind+"/"+obj.GetName()] = true
	ref := metav1.GetControllerOfNoCopy(obj)
	if kind == "Job" && ref != nil && ref.Kind == "CronJob" && h.listed["CronJob/"+ref.Name] {
		return
	}
	h.out = append(h.out, Neighbour{Ref: strings.ToLower(kind) + "/" + obj.GetName(), Labels: template, UID: obj.GetUID(), Controller: ref})
}

// pods adds the pods no listed workload controls; finished pods (Succeeded,
// Failed) are gone for every purpose a selector serves.
func (h *neighbourhood) pods(pods []corev1.Pod) {
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ref := metav1.GetControllerOfNoCopy(p)
		if ref != nil && (h.listed[ref.Kind+"/"+ref.Name] || h.listed["Deployment/"+deploymentOf(ref, p.Labels)]) {
			continue
		}
		h.out = append(h.out, Neighbour{Ref: "pod/" + p.Name, Labels: p.Labels, UID: p.UID, Controller: ref})
	}
}

// deploymentOf names the Deployment whose ReplicaSet ref is, from the
// ReplicaSet's name DEPLOYMENT-HASH and the pod's pod-template-hash label
// HASH; "" when ref is no such ReplicaSet.
func deploymentOf(ref *metav1.OwnerReference, labels map[string]string) string {
	hash := labels["pod-template-hash"]
	if ref.Kind != "ReplicaSet" || hash == "" || !strings.HasSuffix(ref.Name, "-"+hash) {
		return ""
	}
	return strings.TrimSuffix(ref.Name, "-"+hash)
}

// neighbourhood lists the namespace's workloads and pods, one LIST per
// kind (6 in all, whatever the namespace holds). A kind the user may not
// list (403) is named in the second result, and recorded in unread, rather
// than failing the read: the pods of such workloads that run are still
// seen, as pods.
func (r *Reader) neighbourhood(ctx context.Context, ns string, unread *unreadLog) ([]Neighbour, []string, error) {
	h := newNeighbourhood()
	var denied []string
	g, gctx := errgroup.WithContext(ctx)
	c := r.Client
	deployments, statefulsets, daemonsets := listOf(g, gctx, unread, "deployments", ns, c.AppsV1().Deployments(ns).List),
		listOf(g, gctx, unread, "statefulsets", ns, c.AppsV1().StatefulSets(ns).List),
		listOf(g, gctx, unread, "daemonsets", ns, c.AppsV1().DaemonSets(ns).List)
	jobs, cronjobs, pods := listOf(g, gctx, unread, "jobs", ns, c.BatchV1().Jobs(ns).List),
		listOf(g, gctx, unread, "cronjobs", ns, c.BatchV1().CronJobs(ns).List),
		listOf(g, gctx, unread, "pods", ns, c.CoreV1().Pods(ns).List)
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for _, l := range []interface{ forbidden() (string, bool) }{deployments, statefulsets, daemonsets, jobs, cronjobs, pods} {
		if resource, ok := l.forbidden(); ok {
			denied = append(denied, resource)
		}
	}
	if l := deployments.list; l != nil {
		for i := range l.Items {
			h.workload("Deployment", &l.Items[i], l.Items[i].Spec.Template.Labels)
		}
	}
	if l := statefulsets.list; l != nil {
		for i := range l.Items {
			h.workload("StatefulSet", &l.Items[i], l.Items[i].Spec.Template.Labels)
		}
	}
	if l := daemonsets.list; l != nil {
		for i := range l.Items {
			h.workload("DaemonSet", &l.Items[i], l.Items[i].Spec.Template.Labels)
		}
	}
	if l := cronjobs.list; l != nil {
		for i := range l.Items {
			h.workload("CronJob", &l.Items[i], l.Items[i].Spec.JobTemplate.Spec.Template.Labels)
		}
	}
	if l := jobs.list; l != nil {
		for i := range l.Items {
			h.workload("Job", &l.Items[i], l.Items[i].Spec.Template.Labels)
		}
	}
	if l := pods.list; l != nil {
		h.pods(l.Items)
	}
	return h.out, denied, nil
}

// neighbourList is one LIST of the neighbourhood: its result, or whether it was
// forbidden.
type neighbourList[L any] struct {
	resource string
	list     L
	denied   bool
}

func (l *neighbourList[L]) forbidden() (string, bool) { return l.resource, l.denied }

// listOf starts one LIST in g; a 403 marks it denied, and is recorded in
// unread, instead of failing g.
func listOf[L any](g *errgroup.Group, ctx context.Context, unread *unreadLog, resource, ns string, list func(context.Context, metav1.ListOptions) (L, error)) *neighbourList[L] {
	out := &neighbourList[L]{resource: resource}
	g.Go(func() error {
		l, err := list(ctx, metav1.ListOptions{})
		switch {
		case unread.tolerate("list", resource, err, false):
			out.denied = true
		case err != nil:
			return fmt.Errorf("listing %s in %s: %w", resource, ns, err)
		default:
			out.list = l
		}
		return nil
	})
	return out
}

// neighbourhood is the inventory's namespace as Neighbours, shared by its
// snapshots: the workloads listed (the Jobs always, CronJobs' included) and
// the pods none of them controls — every pod, when the audit's scope left
// some kinds or labels out.
func (inv *Inventory) neighbourhood() []Neighbour {
	h := newNeighbourhood()
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet", "CronJob"} {
		for _, w := range inv.Workloads {
			if w.Kind() == kind {
				h.workload(kind, w.Object, w.PodTemplate().Labels)
			}
		}
	}
	for i := range inv.jobs {
		h.workload("Job", &inv.jobs[i], inv.jobs[i].Spec.Template.Labels)
	}
	h.pods(inv.Pods)
	return h.out
}
