package inspect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/pager"
)

// Inventory is every workload of a scope (one namespace or all) and the
// objects around them, read with one paginated LIST per kind — never a
// request per workload.
type Inventory struct {
	Namespaces      []corev1.Namespace
	Workloads       []*Workload
	Pods            []corev1.Pod
	PDBs            []policyv1.PodDisruptionBudget
	Services        []corev1.Service
	HPAs            []autoscalingv2.HorizontalPodAutoscaler
	NetworkPolicies []networkingv1.NetworkPolicy
	LimitRanges     []corev1.LimitRange
	ResourceQuotas  []corev1.ResourceQuota
	RoleBindings    []rbacv1.RoleBinding
	ServiceAccounts []corev1.ServiceAccount
	jobs            []batchv1.Job
}

// ListedResources are the resources an audit of every namespace reads
// (Reader.Cluster and Reader.Inventory), one LIST each: what
// `kubectl get` must read to see the same objects.
var ListedResources = []string{
	"nodes", "priorityclasses", "clusterrolebindings", "namespaces",
	"deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "pods",
	"poddisruptionbudgets", "services", "horizontalpodautoscalers", "networkpolicies",
	"limitranges", "resourcequotas", "rolebindings", "serviceaccounts",
}

// TightGC lowers the garbage collector's target while a cluster's worth of
// objects is read or evaluated, and returns what restores it: with Go's
// default (GOGC=100) the heap grows to twice what is live before a
// collection, and an audit keeps every object of the cluster live. A GOGC
// set in the environment is left alone. Calls may overlap: the target is
// restored when the last one ends.
func TightGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	tightGC.Lock()
	defer tightGC.Unlock()
	if tightGC.depth == 0 {
		tightGC.saved = debug.SetGCPercent(25)
	}
	tightGC.depth++
	return sync.OnceFunc(func() {
		tightGC.Lock()
		defer tightGC.Unlock()
		if tightGC.depth--; tightGC.depth == 0 {
			debug.SetGCPercent(tightGC.saved)
		}
	})
}

var tightGC struct {
	sync.Mutex
	depth, saved int
}

// Scope says what to read.
type Scope struct {
	Namespace string // "" for all namespaces
	Selector  string // label selector on workloads
	Kinds     map[string]bool
	ChunkSize int64
}

// list pages through a LIST, keeping each item without its managedFields:
// nothing reads them from the inventory (apply reads the live object
// again), and they are often the larger part of an object.
func list[T any](ctx context.Context, chunk int64, fn func(context.Context, metav1.ListOptions) (runtime.Object, error), keep func(*T)) error {
	p := pager.New(pager.ListPageFunc(fn))
	p.PageSize = chunk
	return p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		if m, ok := obj.(metav1.Object); ok {
			m.SetManagedFields(nil)
		}
		keep(any(obj).(*T))
		return nil
	})
}

// Inventory reads the scope: in parallel, one LIST (paginated) per kind.
func (r *Reader) Inventory(ctx context.Context, sc Scope) (*Inventory, error) {
	defer TightGC()()
	inv := &Inventory{}
	ns, chunk := sc.Namespace, sc.ChunkSize
	if chunk <= 0 {
		chunk = 500
	}
	c := r.Client
	var deps []appsv1.Deployment
	var stss []appsv1.StatefulSet
	var dss []appsv1.DaemonSet
	var jobs []batchv1.Job
	var cjs []batchv1.CronJob
	g, ctx := errgroup.WithContext(ctx)
	add := func(what string, f func() error) {
		g.Go(func() error {
			if err := f(); err != nil {
				return fmt.Errorf("listing %s: %w", what, err)
			}
			return nil
		})
	}
	wl := metav1.ListOptions{LabelSelector: sc.Selector}
	withSel := func(f func(context.Context, metav1.ListOptions) (runtime.Object, error)) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = wl.LabelSelector
			return f(ctx, o)
		}
	}
	if sc.Kinds["Deployment"] {
		add("deployments", func() error {
			return list(ctx, chunk, withSel(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().Deployments(ns).List(ctx, o)
			}),
				func(d *appsv1.Deployment) { deps = append(deps, *d) })
		})
	}
	if sc.Kinds["StatefulSet"] {
		add("statefulsets", func() error {
			return list(ctx, chunk, withSel(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().StatefulSets(ns).List(ctx, o)
			}),
				func(d *appsv1.StatefulSet) { stss = append(stss, *d) })
		})
	}
	if sc.Kinds["DaemonSet"] {
		add("daemonsets", func() error {
			return list(ctx, chunk, withSel(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().DaemonSets(ns).List(ctx, o)
			}),
				func(d *appsv1.DaemonSet) { dss = append(dss, *d) })
		})
	}
	// Jobs are always read: CronJobs' pods are found through them.
	add("jobs", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().Jobs(ns).List(ctx, o)
		},
			func(d *batchv1.Job) { jobs = append(jobs, *d) })
	})
	if sc.Kinds["CronJob"] {
		add("cronjobs", func() error {
			return list(ctx, chunk, withSel(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.BatchV1().CronJobs(ns).List(ctx, o)
			}),
				func(d *batchv1.CronJob) { cjs = append(cjs, *d) })
		})
	}
	add("pods", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Pods(ns).List(ctx, o)
		},
			func(p *corev1.Pod) { inv.Pods = append(inv.Pods, *p) })
	})
	add("poddisruptionbudgets", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.PolicyV1().PodDisruptionBudgets(ns).List(ctx, o)
		},
			func(p *policyv1.PodDisruptionBudget) { inv.PDBs = append(inv.PDBs, *p) })
	})
	add("services", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Services(ns).List(ctx, o)
		},
			func(p *corev1.Service) { inv.Services = append(inv.Services, *p) })
	})
	add("horizontalpodautoscalers", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, o)
		}, func(p *autoscalingv2.HorizontalPodAutoscaler) { inv.HPAs = append(inv.HPAs, *p) })
	})
	add("networkpolicies", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.NetworkingV1().NetworkPolicies(ns).List(ctx, o)
		},
			func(p *networkingv1.NetworkPolicy) { inv.NetworkPolicies = append(inv.NetworkPolicies, *p) })
	})
	add("limitranges", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().LimitRanges(ns).List(ctx, o)
		},
			func(p *corev1.LimitRange) { inv.LimitRanges = append(inv.LimitRanges, *p) })
	})
	add("resourcequotas", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ResourceQuotas(ns).List(ctx, o)
		},
			func(p *corev1.ResourceQuota) { inv.ResourceQuotas = append(inv.ResourceQuotas, *p) })
	})
	add("rolebindings", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.RbacV1().RoleBindings(ns).List(ctx, o)
		},
			func(p *rbacv1.RoleBinding) { inv.RoleBindings = append(inv.RoleBindings, *p) })
	})
	add("serviceaccounts", func() error {
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ServiceAccounts(ns).List(ctx, o)
		},
			func(p *corev1.ServiceAccount) { inv.ServiceAccounts = append(inv.ServiceAccounts, *p) })
	})
	add("namespaces", func() error {
		if ns != "" {
			n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil {
				return err
			}
			inv.Namespaces = []corev1.Namespace{*n}
			return nil
		}
		return list(ctx, chunk, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Namespaces().List(ctx, o)
		},
			func(p *corev1.Namespace) { inv.Namespaces = append(inv.Namespaces, *p) })
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var err error
	for i := range deps {
		err = errors.Join(err, inv.addWorkload(&deps[i], "apps/v1", "Deployment"))
	}
	for i := range stss {
		err = errors.Join(err, inv.addWorkload(&stss[i], "apps/v1", "StatefulSet"))
	}
	for i := range dss {
		err = errors.Join(err, inv.addWorkload(&dss[i], "apps/v1", "DaemonSet"))
	}
	if sc.Kinds["Job"] {
		sel, serr := labels.Parse(sc.Selector)
		if serr != nil {
			return nil, serr
		}
		for i := range jobs {
			// Jobs a CronJob made are the CronJob's, not workloads of their own.
			if ref := metav1.GetControllerOf(&jobs[i]); ref != nil && ref.Kind == "CronJob" || !sel.Matches(labels.Set(jobs[i].Labels)) {
				continue
			}
			err = errors.Join(err, inv.addWorkload(&jobs[i], "batch/v1", "Job"))
		}
	}
	for i := range cjs {
		err = errors.Join(err, inv.addWorkload(&cjs[i], "batch/v1", "CronJob"))
	}
	inv.jobs = jobs
	sort.Slice(inv.Workloads, func(i, j int) bool {
		a, b := inv.Workloads[i], inv.Workloads[j]
		if a.Namespace() != b.Namespace() {
			return a.Namespace() < b.Namespace()
		}
		return a.Ref() < b.Ref()
	})
	return inv, err
}

// addWorkload keeps a listed object as a Workload: the typed object as
// listed (not converted back from its unstructured form, which would cost a
// second copy) and its unstructured form, the base of patches and diffs.
func (inv *Inventory) addWorkload(obj interface {
	runtime.Object
	SetGroupVersionKind(schema.GroupVersionKind)
}, apiVersion, kind string) error {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return err
	}
	obj.SetGroupVersionKind(gv.WithKind(kind))
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	w := &Workload{Object: &unstructured.Unstructured{Object: m}}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		w.Deployment = o
	case *appsv1.StatefulSet:
		w.StatefulSet = o
	case *appsv1.DaemonSet:
		w.DaemonSet = o
	case *batchv1.Job:
		w.Job = o
	case *batchv1.CronJob:
		w.CronJob = o
	default:
		return fmt.Errorf("%s is not a workload kind", kind)
	}
	inv.Workloads = append(inv.Workloads, w)
	return nil
}

// byNamespace groups a list by namespace without copying it: a LIST
// returns objects in namespace order, so each group is a subslice (of a
// sorted copy, for a list in another order).
func byNamespace[T any](items []T, ns func(*T) string) map[string][]T {
	sorted := true
	for i := 1; i < len(items) && sorted; i++ {
		sorted = ns(&items[i-1]) <= ns(&items[i])
	}
	if !sorted {
		items = slices.Clone(items)
		sort.SliceStable(items, func(i, j int) bool { return ns(&items[i]) < ns(&items[j]) })
	}
	out := map[string][]T{}
	for start := 0; start < len(items); {
		n, end := ns(&items[start]), start+1
		for end < len(items) && ns(&items[end]) == n {
			end++
		}
		// Capped, so that appending to one group never overwrites the next.
		out[n] = items[start:end:end]
		start = end
	}
	return out
}

// Snapshots assembles each workload's Snapshot from the inventory, as the
// Reader would for one workload, without another request.
func (inv *Inventory) Snapshots(cluster *Cluster) []*Snapshot {
	pods := byNamespace(inv.Pods, func(p *corev1.Pod) string { return p.Namespace })
	pdbs := byNamespace(inv.PDBs, func(p *policyv1.PodDisruptionBudget) string { return p.Namespace })
	svcs := byNamespace(inv.Services, func(p *corev1.Service) string { return p.Namespace })
	hpas := byNamespace(inv.HPAs, func(p *autoscalingv2.HorizontalPodAutoscaler) string { return p.Namespace })
	nps := byNamespace(inv.NetworkPolicies, func(p *networkingv1.NetworkPolicy) string { return p.Namespace })
	lrs := byNamespace(inv.LimitRanges, func(p *corev1.LimitRange) string { return p.Namespace })
	rbs := byNamespace(inv.RoleBindings, func(p *rbacv1.RoleBinding) string { return p.Namespace })
	jobs := byNamespace(inv.jobs, func(p *batchv1.Job) string { return p.Namespace })
	namespaces := map[string]*corev1.Namespace{}
	for i := range inv.Namespaces {
		namespaces[inv.Namespaces[i].Name] = &inv.Namespaces[i]
	}
	sas := map[string]*corev1.ServiceAccount{}
	for i := range inv.ServiceAccounts {
		sas[inv.ServiceAccounts[i].Namespace+"/"+inv.ServiceAccounts[i].Name] = &inv.ServiceAccounts[i]
	}
	out := make([]*Snapshot, 0, len(inv.Workloads))
	for _, w := range inv.Workloads {
		ns := w.Namespace()
		s := &Snapshot{Workload: w, Cluster: cluster, Namespace: namespaces[ns],
			PDBs: pdbs[ns], Services: svcs[ns], HPAs: hpas[ns], NetworkPolicies: nps[ns],
			LimitRanges: lrs[ns], RoleBindings: rbs[ns]}
		s.ServiceAccount = sas[ns+"/"+s.ServiceAccountName()]
		s.Pods = podsOf(w, pods[ns], jobs[ns])
		s.KeepRelated()
		out = append(out, s)
	}
	return out
}

// podsOf picks the workload's pods from its namespace's: by selector, or
// for a CronJob through the Jobs it owns.
func podsOf(w *Workload, pods []corev1.Pod, jobs []batchv1.Job) []corev1.Pod {
	sel, err := w.Selector()
	if err != nil {
		return nil
	}
	var out []corev1.Pod
	if sel == nil {
		owned := map[string]bool{}
		for i := range jobs {
			if ref := metav1.GetControllerOf(&jobs[i]); ref != nil && ref.UID == w.Object.GetUID() {
				owned[jobs[i].Name] = true
			}
		}
		for _, p := range pods {
			if owned[p.Labels["batch.kubernetes.io/job-name"]] {
				out = append(out, p)
			}
		}
		return out
	}
	for _, p := range pods {
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// BarePods are pods no controller owns: nothing recreates them when their
// node fails or is drained.
func (inv *Inventory) BarePods() []corev1.Pod {
	var out []corev1.Pod
	for _, p := range inv.Pods {
		if metav1.GetControllerOf(&p) == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// NamespaceSnapshot is what namespace rules look at.
type NamespaceSnapshot struct {
	Namespace       *corev1.Namespace
	Pods            []corev1.Pod
	NetworkPolicies []networkingv1.NetworkPolicy
	LimitRanges     []corev1.LimitRange
	ResourceQuotas  []corev1.ResourceQuota
	Workloads       int
	// Templates are the workloads' pod templates: the pods to come.
	Templates []corev1.PodTemplateSpec
}

// NamespaceSnapshots groups the inventory by namespace, for the namespaces
// that hold at least one workload or pod.
func (inv *Inventory) NamespaceSnapshots() []*NamespaceSnapshot {
	byName := map[string]*NamespaceSnapshot{}
	get := func(name string) *NamespaceSnapshot {
		if s, ok := byName[name]; ok {
			return s
		}
		s := &NamespaceSnapshot{}
		byName[name] = s
		return s
	}
	for _, w := range inv.Workloads {
		s := get(w.Namespace())
		s.Workloads++
		s.Templates = append(s.Templates, *w.PodTemplate())
	}
	for ns, pods := range byNamespace(inv.Pods, func(p *corev1.Pod) string { return p.Namespace }) {
		get(ns).Pods = pods
	}
	nps := byNamespace(inv.NetworkPolicies, func(p *networkingv1.NetworkPolicy) string { return p.Namespace })
	lrs := byNamespace(inv.LimitRanges, func(p *corev1.LimitRange) string { return p.Namespace })
	quotas := byNamespace(inv.ResourceQuotas, func(p *corev1.ResourceQuota) string { return p.Namespace })
	var out []*NamespaceSnapshot
	for i := range inv.Namespaces {
		ns := &inv.Namespaces[i]
		s, ok := byName[ns.Name]
		if !ok {
			continue
		}
		s.Namespace = ns
		s.NetworkPolicies, s.LimitRanges, s.ResourceQuotas = nps[ns.Name], lrs[ns.Name], quotas[ns.Name]
		out = append(out, s)
	}
	return out
}
