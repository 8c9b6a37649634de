package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// Inventory is one namespace's part of a scope: its workloads and the
// objects around them, as listed.
type Inventory struct {
	// Namespace is nil when the namespace was deleted while being read.
	Namespace       *corev1.Namespace
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
	// Leases and PersistentVolumeClaims, for whether more copies are safe.
	Leases                 []coordinationv1.Lease
	PersistentVolumeClaims []corev1.PersistentVolumeClaim
	// Routes are the namespace's Ingresses and served Gateway API routes;
	// RoutesUnknown names the kinds the user may not list (traffic.go).
	Routes        []Route
	RoutesUnknown []string
	// Unread are the optional LISTs the API server refused (RoleBindings,
	// ServiceAccounts, Leases, claims, routes; the namespace's GET), the
	// same for every namespace of the audit: each was one LIST of the
	// scope. Cluster-scoped ones are in Cluster.Unread.
	Unread []Unread
	// The workloads as listed, until finish makes them Workloads; the Jobs
	// stay, for the CronJobs' pods.
	listed []listedKind
	jobs   []batchv1.Job
}

// ListedResources are the resources an audit of every namespace reads
// (Reader.Cluster and Reader.EachNamespace), one LIST each: what
// `kubectl get` must read to see the same objects.
var ListedResources = slices.Concat([]string{
	"nodes", "priorityclasses", "clusterrolebindings", "namespaces",
	// The Workloads kinds, in KindTable's order: deployments…cronjobs.
}, resourcesIn(Workloads), []string{"pods",
	"poddisruptionbudgets", "services", "horizontalpodautoscalers", "networkpolicies",
	"limitranges", "resourcequotas", "rolebindings", "serviceaccounts",
	"leases", "persistentvolumeclaims",
	// Where traffic comes from (traffic.go); the Gateway API's gateways,
	// gatewayclasses and routes too, when the cluster serves them, and the
	// aggregation layer's apiservices (both through the REST client).
	"ingressclasses", "ingresses", "validatingwebhookconfigurations", "mutatingwebhookconfigurations",
})

// Scope says what to read.
type Scope struct {
	Namespace string // "" for all namespaces
	Selector  string // label selector on workloads
	Kinds     map[string]bool
	ChunkSize int64
	// Sorted reads each kind whole and sorts it before the namespaces are
	// handed over: for an API server that does not list in key order
	// (EachNamespace returns ErrUnordered).
	Sorted bool
}

// ErrUnordered says that a LIST came back out of namespace order, so its
// namespaces could not be handed over as they arrived: read again with
// Scope.Sorted.
var ErrUnordered = errors.New("the API server listed objects out of namespace order")

// order is the order of the API server's storage keys
// (/registry/RESOURCE/NAMESPACE/NAME), in which it lists: "a-b" comes
// before "a", since '-' sorts before '/'.
func order(namespace string) string { return namespace + "/" }

// source is one namespaced kind: its paginated LIST, and where its items
// go in an Inventory.
type source struct {
	resource string
	// each pages through the LIST and hands its items over one namespace
	// at a time, in the order listed or, when sorted, in key order.
	each func(ctx context.Context, chunk int64, sorted bool, emit func(namespace string, store func(*Inventory)) error) error
}

// newSource is the source of one namespaced kind: list is its typed
// client's List (L is its list type, T its item type), selector the label
// selector sent with every page ("" for none), store where one
// namespace's items go. Its each returns list's error, ErrUnordered, a
// ResourceExpired error wrapped with what to do, or emit's error.
func newSource[T any, L interface {
	runtime.Object
	GetContinue() string
}](resource, selector string, list func(context.Context, metav1.ListOptions) (L, error), store func(*Inventory, []T)) source {
	return source{resource: resource, each: func(ctx context.Context, chunk int64, sorted bool, emit func(string, func(*Inventory)) error) error {
		g := &nsGrouper[T]{sorted: sorted, emit: emit, store: store}
		if err := listPages(ctx, list, metav1.ListOptions{Limit: chunk, LabelSelector: selector}, g.keep); err != nil {
			return err
		}
		if !sorted {
			return g.flush()
		}
		return g.flushSorted()
	}}
}

// listPages pages through a LIST from opts (Limit and LabelSelector set)
// and hands every item to keep. One page at a time, none read ahead: the
// kinds are listed in parallel, which keeps the connection busy enough,
// and a page read ahead would double what each kind holds. A continue
// token that expired mid-list (410 ResourceExpired) is wrapped with what
// to do; list's and keep's other errors are returned as they are.
func listPages[L interface {
	runtime.Object
	GetContinue() string
}](ctx context.Context, list func(context.Context, metav1.ListOptions) (L, error), opts metav1.ListOptions, keep func(runtime.Object) error) error {
	for {
		page, err := list(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			return fmt.Errorf("%w: the objects changed too much while they were read page by page; read them again, or in larger pages", err)
		}
		if err != nil {
			return err
		}
		if err := meta.EachListItem(page, keep); err != nil {
			return err
		}
		if opts.Continue = page.GetContinue(); opts.Continue == "" {
			return nil
		}
	}
}

// nsGrouper gathers one kind's listed items (T, a typed object such as
// corev1.Pod) into runs of one namespace and hands each run to emit with
// its store. Unsorted, a run is handed over as soon as the next
// namespace's first item arrives; sorted, every item is held until
// flushSorted.
type nsGrouper[T any] struct {
	sorted bool
	emit   func(namespace string, store func(*Inventory)) error
	store  func(*Inventory, []T)
	group  []T // the run not yet handed over; everything read, when sorted
}

// namespaceOf is an item's namespace; T's pointer is a metav1.Object.
func namespaceOf[T any](item *T) string { return any(item).(metav1.Object).GetNamespace() }

// keep takes one listed item (a *T from meta.EachListItem). Unsorted, an
// item of a namespace that sorts before the run's fails with
// ErrUnordered, and one of a later namespace first hands the run over.
func (g *nsGrouper[T]) keep(obj runtime.Object) error {
	item := any(obj).(*T)
	// Nothing reads managedFields from the inventory (apply reads
	// the live object again), and they are often the larger part
	// of an object.
	any(item).(metav1.Object).SetManagedFields(nil)
	if !g.sorted && len(g.group) > 0 {
		if err := g.advance(namespaceOf(&g.group[0]), namespaceOf(item)); err != nil {
			return err
		}
	}
	g.group = append(g.group, *item)
	return nil
}

// advance hands the run of namespace last over when next starts another
// namespace, and fails with ErrUnordered when next sorts before last.
func (g *nsGrouper[T]) advance(last, next string) error {
	if next == last {
		return nil
	}
	if order(next) < order(last) {
		return ErrUnordered
	}
	return g.flush()
}

// flush hands the current run, if any, to emit and starts a new one.
func (g *nsGrouper[T]) flush() error {
	if len(g.group) == 0 {
		return nil
	}
	run := g.group
	g.group = nil
	return g.emit(namespaceOf(&run[0]), func(inv *Inventory) { g.store(inv, run) })
}

// flushSorted sorts everything read by namespace, in key order (stable:
// each namespace's items stay as listed), and hands it over one namespace
// at a time.
func (g *nsGrouper[T]) flushSorted() error {
	all := g.group
	sort.SliceStable(all, func(i, j int) bool { return order(namespaceOf(&all[i])) < order(namespaceOf(&all[j])) })
	for start := 0; start < len(all); {
		end := start + 1
		for end < len(all) && namespaceOf(&all[end]) == namespaceOf(&all[start]) {
			end++
		}
		g.group = all[start:end:end]
		if err := g.flush(); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// sources are the namespaced kinds a scope lists.
func (r *Reader) sources(sc Scope) []source {
	c, ns, sel := r.Client, sc.Namespace, sc.Selector
	var out []source
	for _, k := range KindTable {
		// Jobs are read below, whatever the scope's kinds.
		if k.In(Workloads) && k.listWorkloads != nil && sc.Kinds[k.Name()] {
			out = append(out, k.listWorkloads(k, c, ns, sel))
		}
	}
	// Jobs are always read, without the selector: CronJobs' pods are found
	// through them.
	return append(out,
		newSource("jobs", "", c.BatchV1().Jobs(ns).List, func(inv *Inventory, l []batchv1.Job) { inv.jobs = l }),
		newSource("pods", "", c.CoreV1().Pods(ns).List, func(inv *Inventory, l []corev1.Pod) { inv.Pods = l }),
		newSource("poddisruptionbudgets", "", c.PolicyV1().PodDisruptionBudgets(ns).List,
			func(inv *Inventory, l []policyv1.PodDisruptionBudget) { inv.PDBs = l }),
		newSource("services", "", c.CoreV1().Services(ns).List, func(inv *Inventory, l []corev1.Service) { inv.Services = l }),
		newSource("horizontalpodautoscalers", "", c.AutoscalingV2().HorizontalPodAutoscalers(ns).List,
			func(inv *Inventory, l []autoscalingv2.HorizontalPodAutoscaler) { inv.HPAs = l }),
		newSource("networkpolicies", "", c.NetworkingV1().NetworkPolicies(ns).List,
			func(inv *Inventory, l []networkingv1.NetworkPolicy) { inv.NetworkPolicies = l }),
		newSource("limitranges", "", c.CoreV1().LimitRanges(ns).List, func(inv *Inventory, l []corev1.LimitRange) { inv.LimitRanges = l }),
		newSource("resourcequotas", "", c.CoreV1().ResourceQuotas(ns).List,
			func(inv *Inventory, l []corev1.ResourceQuota) { inv.ResourceQuotas = l }),
	)
}

// optionalSources are the namespaced kinds an audit reads when it may: a
// refusal is recorded in unread and read as empty (copySources and
// trafficSources are optional too).
func (r *Reader) optionalSources(sc Scope, unread *unreadLog) []source {
	c, ns := r.Client, sc.Namespace
	return []source{
		newSource(ResRoleBindings, "", orEmpty(c.RbacV1().RoleBindings(ns).List, unread, ResRoleBindings),
			func(inv *Inventory, l []rbacv1.RoleBinding) { inv.RoleBindings = l }),
		newSource(ResServiceAccounts, "", orEmpty(c.CoreV1().ServiceAccounts(ns).List, unread, ResServiceAccounts),
			func(inv *Inventory, l []corev1.ServiceAccount) { inv.ServiceAccounts = l }),
	}
}

// group is one kind's objects of one namespace.
type group struct {
	namespace string
	store     func(*Inventory)
}

// EachNamespace reads the scope with one paginated LIST per kind, all in
// parallel, and hands it to fn one namespace at a time, as the lists
// arrive: the API server lists in namespace order, so a namespace is
// complete once every list has gone past it. Only one namespace's objects
// (and a page per kind) are held at once, whatever the size of the
// cluster. fn is called in namespace order, never concurrently.
//
// An API server that lists out of order makes it fail with ErrUnordered;
// Scope.Sorted then reads each kind whole first.
//
// Optional reads the API server refuses are in each Inventory's Unread. A
// required LIST (workloads, pods, PDBs, Services…) refused across all
// namespaces (Scope.Namespace "") fails with a *ClusterWideError: the
// user's rights are a namespace's.
func (r *Reader) EachNamespace(ctx context.Context, sc Scope, fn func(*Inventory) error) error {
	chunk := sc.ChunkSize
	if chunk <= 0 {
		chunk = 500
	}
	sel, err := labels.Parse(sc.Selector)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	namespaces := map[string]*corev1.Namespace{}
	read := make(chan struct{})
	unread := &unreadLog{}
	g.Go(func() error {
		if err := r.namespaces(ctx, sc.Namespace, chunk, namespaces, unread); err != nil {
			return clusterWide(sc, ResNamespaces, fmt.Errorf("listing namespaces: %w", err))
		}
		close(read)
		return nil
	})
	var lists []chan group
	unknown := &unknownKinds{}
	sources := append(append(append(r.sources(sc), r.optionalSources(sc, unread)...), r.copySources(sc, unread)...), r.trafficSources(sc, unknown, unread)...)
	for _, s := range sources {
		ch := make(chan group)
		lists = append(lists, ch)
		g.Go(func() error {
			err := s.each(ctx, chunk, sc.Sorted, func(ns string, store func(*Inventory)) error {
				select {
				case ch <- group{ns, store}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil {
				return clusterWide(sc, s.resource, fmt.Errorf("listing %s: %w", s.resource, err))
			}
			// Closed only when complete: a failed list must not look like
			// one that ended.
			close(ch)
			return nil
		})
	}
	g.Go(func() error {
		select {
		case <-read:
		case <-ctx.Done():
			return ctx.Err()
		}
		return merge(ctx, lists, func(ns string, stores []func(*Inventory)) error {
			inv := &Inventory{Namespace: namespaces[ns], RoutesUnknown: unknown.list(), Unread: unread.list()}
			for _, store := range stores {
				store(inv)
			}
			if err := inv.finish(sc.Kinds["Job"], sel); err != nil {
				return err
			}
			return fn(inv)
		})
	})
	return g.Wait()
}

// merge joins the lists' groups by namespace: it takes the smallest
// namespace at the head of any list, with every list's group of it.
func merge(ctx context.Context, lists []chan group, each func(ns string, stores []func(*Inventory)) error) error {
	heads := make([]*group, len(lists))
	for {
		for i, ch := range lists {
			if heads[i] != nil || ch == nil {
				continue
			}
			select {
			case g, ok := <-ch:
				if !ok {
					lists[i] = nil
					continue
				}
				heads[i] = &g
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var next *group
		for _, h := range heads {
			if h != nil && (next == nil || order(h.namespace) < order(next.namespace)) {
				next = h
			}
		}
		if next == nil {
			return nil
		}
		ns := next.namespace
		var stores []func(*Inventory)
		for i, h := range heads {
			if h != nil && h.namespace == ns {
				stores = append(stores, h.store)
				heads[i] = nil
			}
		}
		if err := each(ns, stores); err != nil {
			return err
		}
	}
}

// clusterWide turns a refused LIST of an audit of every namespace into a
// *ClusterWideError; other errors are returned as they are.
func clusterWide(sc Scope, resource string, err error) error {
	if sc.Namespace == "" && apierrors.IsForbidden(err) {
		return &ClusterWideError{Resource: resource, Err: err}
	}
	return err
}

// namespaces reads the scope's namespaces: the one named, or all of them.
// The one named, when its GET is refused, is known by its name only
// (recorded in unread): its labels and annotations are unknown.
func (r *Reader) namespaces(ctx context.Context, name string, chunk int64, into map[string]*corev1.Namespace, unread *unreadLog) error {
	if name != "" {
		n, err := r.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if unread.tolerate("get", ResNamespaces, err, false) {
			n, err = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
		}
		if err == nil {
			into[n.Name] = n
		}
		return err
	}
	p := pager.New(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return r.Client.CoreV1().Namespaces().List(ctx, o)
	})
	p.PageSize = chunk
	return p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		n := obj.(*corev1.Namespace)
		n.ManagedFields = nil
		into[n.Name] = n
		return nil
	})
}

// finish makes the listed workloads Workloads, in name order. Jobs a
// CronJob made are the CronJob's, not workloads of their own; the label
// selector, which the Jobs' LIST did not carry, picks the others.
func (inv *Inventory) finish(jobs bool, sel labels.Selector) error {
	var err error
	for _, l := range inv.listed {
		for i := range l.n {
			err = errors.Join(err, inv.addWorkload(l.kind, l.at(i)))
		}
	}
	if jobs {
		job := KindOf("Job")
		for i := range inv.jobs {
			if ref := metav1.GetControllerOf(&inv.jobs[i]); ref != nil && ref.Kind == "CronJob" || !sel.Matches(labels.Set(inv.jobs[i].Labels)) {
				continue
			}
			err = errors.Join(err, inv.addWorkload(job, &inv.jobs[i]))
		}
	}
	inv.listed = nil
	sort.Slice(inv.Workloads, func(i, j int) bool { return inv.Workloads[i].Ref() < inv.Workloads[j].Ref() })
	return err
}

// addWorkload keeps a listed object as a Workload: the typed object as
// listed (not converted back from its unstructured form, which would cost a
// second copy) and its unstructured form, the base of patches and diffs.
func (inv *Inventory) addWorkload(k *Kind, obj runtime.Object) error {
	obj.GetObjectKind().SetGroupVersionKind(k.GVK)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	w := &Workload{Object: &unstructured.Unstructured{Object: m}}
	if _, ok := k.bind(w, obj); !ok {
		return fmt.Errorf("%s is not a workload kind", k.Name())
	}
	inv.Workloads = append(inv.Workloads, w)
	return nil
}

// listedKind is one LIST of a workload kind in one namespace, until
// finish makes its items Workloads: item i is at(i), in the list as read
// (not copied).
type listedKind struct {
	kind *Kind
	n    int
	at   func(i int) runtime.Object
}

// listFunc is a typed client's List, e.g. c.AppsV1().Deployments(ns).List.
type listFunc[L any] func(context.Context, metav1.ListOptions) (L, error)

// workloadSource makes a Kind.listWorkloads from the kind's typed List:
// its paginated LIST (newSource), the items kept in Inventory.listed.
func workloadSource[T any, PT interface {
	*T
	runtime.Object
}, L interface {
	runtime.Object
	GetContinue() string
}](list func(c kubernetes.Interface, ns string) listFunc[L]) func(*Kind, kubernetes.Interface, string, string) source {
	return func(k *Kind, c kubernetes.Interface, ns, sel string) source {
		return newSource(k.Resource, sel, list(c, ns), func(inv *Inventory, l []T) {
			inv.listed = append(inv.listed, listedKind{kind: k, n: len(l), at: func(i int) runtime.Object { return PT(&l[i]) }})
		})
	}
}

// Snapshots assembles each workload's Snapshot from the inventory, as the
// Reader would for one workload, without another request.
func (inv *Inventory) Snapshots(cluster *Cluster) []*Snapshot {
	sas := map[string]*corev1.ServiceAccount{}
	for i := range inv.ServiceAccounts {
		sas[inv.ServiceAccounts[i].Name] = &inv.ServiceAccounts[i]
	}
	related := namespaceSelectorsOf(inv.PDBs, inv.Services, inv.NetworkPolicies)
	hood := inv.neighbourhood()
	out := make([]*Snapshot, 0, len(inv.Workloads))
	for _, w := range inv.Workloads {
		s := &Snapshot{Workload: w, Cluster: cluster, Namespace: inv.Namespace,
			PDBs: inv.PDBs, Services: inv.Services, HPAs: inv.HPAs, NetworkPolicies: inv.NetworkPolicies,
			LimitRanges: inv.LimitRanges, RoleBindings: inv.RoleBindings,
			Routes: inv.Routes, RoutesUnknown: inv.RoutesUnknown, Unread: inv.Unread}
		s.ServiceAccount = sas[s.ServiceAccountName()]
		s.Pods = podsOf(w, inv.Pods, inv.jobs)
		inv.copyFacts(s)
		s.keepRelated(related)
		s.Neighbourhood = hood
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
	return OwnPods(w, out)
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
	// Unread are the reads the API server refused (the Inventory's).
	Unread []Unread
}

// NamespaceSnapshot is what the namespace rules look at, for a namespace
// that holds at least one workload or pod (nil otherwise, or when the
// namespace is gone).
func (inv *Inventory) NamespaceSnapshot() *NamespaceSnapshot {
	if inv.Namespace == nil || len(inv.Workloads) == 0 && len(inv.Pods) == 0 {
		return nil
	}
	s := &NamespaceSnapshot{Namespace: inv.Namespace, Pods: inv.Pods, NetworkPolicies: inv.NetworkPolicies,
		LimitRanges: inv.LimitRanges, ResourceQuotas: inv.ResourceQuotas, Workloads: len(inv.Workloads), Unread: inv.Unread}
	for _, w := range inv.Workloads {
		s.Templates = append(s.Templates, *w.PodTemplate())
	}
	return s
}
