package inspect

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// Group is a set of kinds that share a trait, like kube-linter's
// objectkinds (DeploymentLike, JobLike…): a Kind belongs to every group
// whose bit it carries, and KindsIn lists a group's members.
type Group uint8

const (
	// Workloads are the kinds harden hardens: each owns a pod template
	// (Workload.PodTemplate) and has a typed field in Workload.
	Workloads Group = 1 << iota
	// Replicated workloads run spec.replicas copies of a pod: more copies,
	// a PodDisruptionBudget or a spread across zones make sense.
	Replicated
	// RolledOut workloads run long-lived pods and roll a pod template
	// change out to new ones, watched with kubectl rollout status' own
	// status viewer (kube-linter's DeploymentLike, less ReplicaSets).
	RolledOut
	// JobLike workloads run pods to completion: a change takes effect at
	// the next run, and there is no rollout to watch.
	JobLike
	// Related kinds are the namespace's objects a Snapshot carries beside
	// the workload (its PDBs, Services, HPAs…), in the slice Kind.carried
	// names.
	Related
	// Companion kinds are the ones a fix may create beside the workload
	// (plan labels them with app.kubernetes.io/managed-by).
	Companion
)

// Kind is one row of the table of kinds harden knows.
type Kind struct {
	// GVK is the version harden reads and writes, e.g. apps/v1 Deployment.
	GVK schema.GroupVersionKind
	// Resource is the plural resource name kubectl and the LISTs use,
	// e.g. "deployments".
	Resource string
	// Short are kubectl's short names (kubectl api-resources), e.g. "deploy".
	Short []string
	// Groups are the groups the kind belongs to.
	Groups Group
	// TemplatePath is where a workload's pod template is in the object:
	// spec.template, or spec.jobTemplate.spec.template for a CronJob.
	TemplatePath []string

	// bind, for workloads, stores obj (a new object when nil) in w's typed
	// field and returns it; false when obj is not of the kind's type.
	bind func(w *Workload, obj runtime.Object) (runtime.Object, bool)
	// inPlace marks the kinds a fix changes in place (workloads, HPAs);
	// the others are only ever created.
	inPlace bool
	// listWorkloads, for the workloads an audit lists by kind (all but
	// Jobs, which Reader.sources always reads), is the kind's LIST in a
	// namespace ("" for all) with a label selector.
	listWorkloads func(k *Kind, c kubernetes.Interface, ns, selector string) source
	// carried, for related kinds, is the Snapshot slice that holds them.
	carried carrier
}

// KindTable is the table of the kinds harden knows: the workloads it hardens,
// in the order the audit lists and reports them, then the related kinds a
// Snapshot carries. Every list or switch over kinds reads it — the
// audit's --kinds default, the rules' Kinds, resolving targets, the
// Inventory's LISTs, plan's owned fields, what apply watches roll out,
// the fixtures of rulestest.
//
// Adding a kind is one row here, plus reader support: for a workload, its
// typed field in Workload (bind) with a case in each of Workload's typed
// accessors (Annotations, PodTemplate, Selector, Replicas); for a related
// kind, its Snapshot slice (carried) and its read in Reader.Snapshot and
// Inventory.
var KindTable = []*Kind{
	{GVK: appsv1.SchemeGroupVersion.WithKind("Deployment"), Resource: "deployments", Short: []string{"deploy"},
		Groups: Workloads | Replicated | RolledOut, TemplatePath: []string{"spec", "template"},
		bind:    bindTo(func(w *Workload) **appsv1.Deployment { return &w.Deployment }),
		inPlace: true,
		listWorkloads: workloadSource[appsv1.Deployment](func(c kubernetes.Interface, ns string) listFunc[*appsv1.DeploymentList] {
			return c.AppsV1().Deployments(ns).List
		})},
	{GVK: appsv1.SchemeGroupVersion.WithKind("StatefulSet"), Resource: "statefulsets", Short: []string{"sts"},
		Groups: Workloads | Replicated | RolledOut, TemplatePath: []string{"spec", "template"},
		bind:    bindTo(func(w *Workload) **appsv1.StatefulSet { return &w.StatefulSet }),
		inPlace: true,
		listWorkloads: workloadSource[appsv1.StatefulSet](func(c kubernetes.Interface, ns string) listFunc[*appsv1.StatefulSetList] {
			return c.AppsV1().StatefulSets(ns).List
		})},
	{GVK: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), Resource: "daemonsets", Short: []string{"ds"},
		Groups: Workloads | RolledOut, TemplatePath: []string{"spec", "template"},
		bind:    bindTo(func(w *Workload) **appsv1.DaemonSet { return &w.DaemonSet }),
		inPlace: true,
		listWorkloads: workloadSource[appsv1.DaemonSet](func(c kubernetes.Interface, ns string) listFunc[*appsv1.DaemonSetList] {
			return c.AppsV1().DaemonSets(ns).List
		})},
	{GVK: batchv1.SchemeGroupVersion.WithKind("Job"), Resource: "jobs",
		Groups: Workloads | JobLike, TemplatePath: []string{"spec", "template"},
		bind:    bindTo(func(w *Workload) **batchv1.Job { return &w.Job }),
		inPlace: true},
	{GVK: batchv1.SchemeGroupVersion.WithKind("CronJob"), Resource: "cronjobs", Short: []string{"cj"},
		Groups: Workloads | JobLike, TemplatePath: []string{"spec", "jobTemplate", "spec", "template"},
		bind:    bindTo(func(w *Workload) **batchv1.CronJob { return &w.CronJob }),
		inPlace: true,
		listWorkloads: workloadSource[batchv1.CronJob](func(c kubernetes.Interface, ns string) listFunc[*batchv1.CronJobList] {
			return c.BatchV1().CronJobs(ns).List
		})},

	{GVK: corev1.SchemeGroupVersion.WithKind("Service"), Resource: "services", Groups: Related,
		carried: carriedBy(func(s *Snapshot) *[]corev1.Service { return &s.Services })},
	{GVK: policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), Resource: "poddisruptionbudgets", Groups: Related | Companion,
		carried: carriedBy(func(s *Snapshot) *[]policyv1.PodDisruptionBudget { return &s.PDBs })},
	{GVK: autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), Resource: "horizontalpodautoscalers", Groups: Related,
		carried: carriedBy(func(s *Snapshot) *[]autoscalingv2.HorizontalPodAutoscaler { return &s.HPAs }),
		inPlace: true},
	{GVK: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), Resource: "networkpolicies", Groups: Related | Companion,
		carried: carriedBy(func(s *Snapshot) *[]networkingv1.NetworkPolicy { return &s.NetworkPolicies })},
	{GVK: corev1.SchemeGroupVersion.WithKind("LimitRange"), Resource: "limitranges", Groups: Related,
		carried: carriedBy(func(s *Snapshot) *[]corev1.LimitRange { return &s.LimitRanges })},
	{GVK: rbacv1.SchemeGroupVersion.WithKind("RoleBinding"), Resource: "rolebindings", Groups: Related,
		carried: carriedBy(func(s *Snapshot) *[]rbacv1.RoleBinding { return &s.RoleBindings })},
	{GVK: coordinationv1.SchemeGroupVersion.WithKind("Lease"), Resource: "leases", Groups: Related,
		carried: carriedBy(func(s *Snapshot) *[]coordinationv1.Lease { return &s.Leases })},
	{GVK: corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), Resource: "persistentvolumeclaims", Groups: Related,
		carried: carriedBy(func(s *Snapshot) *[]corev1.PersistentVolumeClaim { return &s.PersistentVolumeClaims })},
}

// Name is the kind's name, e.g. "Deployment".
func (k *Kind) Name() string { return k.GVK.Kind }

// In reports whether the kind belongs to every group of g.
func (k *Kind) In(g Group) bool { return k.Groups&g == g }

// ChangedInPlace reports whether a fix may change a live object of the
// kind (plan then extracts the fields harden owns on it).
func (k *Kind) ChangedInPlace() bool { return k.inPlace }

// KindsIn names the kinds that belong to every group of g, in table order:
// KindsIn(Workloads) is [Deployment StatefulSet DaemonSet Job CronJob]. A
// new slice on each call: callers may keep and change it.
func KindsIn(g Group) []string {
	var out []string
	for _, k := range KindTable {
		if k.In(g) {
			out = append(out, k.Name())
		}
	}
	return out
}

// resourcesIn names the resources of the kinds of a group, in table order:
// resourcesIn(Workloads) is [deployments statefulsets daemonsets jobs cronjobs].
func resourcesIn(g Group) []string {
	var out []string
	for _, k := range KindTable {
		if k.In(g) {
			out = append(out, k.Resource)
		}
	}
	return out
}

// KindOf returns the row of a kind by its name ("Deployment"), or nil for
// a kind harden does not know.
func KindOf(kind string) *Kind { return kindByName[kind] }

// kindByName indexes KindTable by kind name.
var kindByName = func() map[string]*Kind {
	m := make(map[string]*Kind, len(KindTable))
	for _, k := range KindTable {
		m[k.GVK.Kind] = k
	}
	return m
}()

// IsA reports whether a kind (by name) belongs to every group of g.
func IsA(kind string, g Group) bool {
	k := KindOf(kind)
	return k != nil && k.In(g)
}

// workloadNamed maps what users type for a workload kind — the kind, its
// singular and plural resource and short names, any case — to its row.
var workloadNamed = func() map[string]*Kind {
	m := map[string]*Kind{}
	for _, k := range KindTable {
		if !k.In(Workloads) {
			continue
		}
		for _, w := range append([]string{k.GVK.Kind, k.Resource}, k.Short...) {
			m[strings.ToLower(w)] = k
		}
	}
	return m
}()

// bindTo makes a Kind.bind of a Workload's typed field.
func bindTo[T any, PT interface {
	*T
	runtime.Object
}](field func(*Workload) **T) func(*Workload, runtime.Object) (runtime.Object, bool) {
	return func(w *Workload, obj runtime.Object) (runtime.Object, bool) {
		if obj == nil {
			obj = PT(new(T))
		}
		t, ok := obj.(PT)
		if ok {
			*field(w) = (*T)(t)
		}
		return obj, ok
	}
}

// carrier is how a Snapshot holds one related kind.
type carrier interface {
	// find returns a copy of the named object, nil when there is none.
	find(s *Snapshot, name string) runtime.Object
	// add decodes an object onto the end of the slice, in place.
	add(s *Snapshot, obj map[string]any) error
	// project gives s a copy of the slice with the change made: the named
	// objects changed by merge, or, when create, a new object from merge.
	project(s *Snapshot, name string, create bool, merge func(into any) error) error
}

// carriedBy makes the carrier of a Snapshot slice.
func carriedBy[T any, PT interface {
	*T
	metav1.Object
	runtime.Object
}](slice func(*Snapshot) *[]T) carrier {
	return sliceCarrier[T, PT]{slice}
}

type sliceCarrier[T any, PT interface {
	*T
	metav1.Object
	runtime.Object
}] struct {
	slice func(*Snapshot) *[]T
}

func (c sliceCarrier[T, PT]) find(s *Snapshot, name string) runtime.Object {
	items := *c.slice(s)
	for i := range items {
		if p := PT(&items[i]); p.GetName() == name {
			return p.DeepCopyObject()
		}
	}
	return nil
}

func (c sliceCarrier[T, PT]) add(s *Snapshot, obj map[string]any) error {
	var item T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &item); err != nil {
		return err
	}
	*c.slice(s) = append(*c.slice(s), item)
	return nil
}

func (c sliceCarrier[T, PT]) project(s *Snapshot, name string, create bool, merge func(any) error) error {
	items := append([]T{}, *c.slice(s)...)
	if create {
		var item T
		if err := merge(&item); err != nil {
			return err
		}
		items = append(items, item)
	}
	for i := range items {
		if !create && PT(&items[i]).GetName() == name {
			if err := merge(&items[i]); err != nil {
				return err
			}
		}
	}
	*c.slice(s) = items
	return nil
}

// RelatedObject returns a copy of the snapshot's object of a related kind (by
// name) named name, as an unstructured object with its apiVersion and kind
// set; nil when the snapshot holds none.
func (s *Snapshot) RelatedObject(kind, name string) (*unstructured.Unstructured, error) {
	k := KindOf(kind)
	if k == nil || k.carried == nil {
		return nil, nil
	}
	obj := k.carried.find(s, name)
	if obj == nil {
		return nil, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(k.GVK)
	return u, nil
}

// AddRelated decodes an object of a related kind onto the end of the
// snapshot's slice of its kind. It errs for a kind the snapshot does not
// carry, or an object that does not convert to the kind's type.
func (s *Snapshot) AddRelated(obj *unstructured.Unstructured) error {
	k := KindOf(obj.GetKind())
	if k == nil || k.carried == nil {
		return fmt.Errorf("a snapshot carries no %s", obj.GetKind())
	}
	return k.carried.add(s, obj.Object)
}

// ProjectRelated gives s a copy of the slice of a related kind with one
// change made by merge (which merges the change into the typed object it
// is given): with create, a new object of a Companion kind is appended;
// otherwise the objects named name of a kind changed in place are merged
// into. It errs for any other kind or change.
func (s *Snapshot) ProjectRelated(kind, name string, create bool, merge func(into any) error) error {
	k := KindOf(kind)
	switch {
	case k == nil || k.carried == nil:
	case create && k.In(Companion):
		return k.carried.project(s, name, true, merge)
	case k.ChangedInPlace():
		return k.carried.project(s, name, false, merge)
	}
	return fmt.Errorf("cannot project a change to %s/%s", kind, name)
}
