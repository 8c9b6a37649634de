package inspect

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned"
)

// Reader reads Snapshots with a constant number of requests per workload.
type Reader struct {
	Client  kubernetes.Interface
	Metrics metricsv1beta1.Interface // used only when the cluster serves metrics.k8s.io
	// shared, when set (Sharing), keeps the reads of each namespace that
	// Snapshot shares between its workloads.
	shared *sharedReads
	// gateway holds the Gateway API route kinds Cluster found served.
	gateway gatewayRoutes
}

// Cluster reads the cluster-scoped facts: nodes, priority classes,
// ClusterRoleBindings, where traffic comes from, and which optional APIs
// are served. Every LIST the API server refuses (403; 404 for a kind it
// may not serve) is named in Cluster.Unread and leaves its field empty;
// any other error fails the read.
func (r *Reader) Cluster(ctx context.Context) (*Cluster, error) {
	c := &Cluster{}
	unread := &unreadLog{}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		groups, err := r.Client.Discovery().ServerGroups()
		if err != nil {
			return err
		}
		for _, grp := range groups.Groups {
			switch grp.Name {
			case "metrics.k8s.io":
				c.MetricsServed = r.Metrics != nil
			case "security.openshift.io":
				c.OpenShift = true
			}
		}
		if err := r.readGatewayAPI(ctx, c, groups, unread); err != nil {
			return err
		}
		return r.readMonitors(ctx, c, groups, unread)
	})
	g.Go(func() error { return r.readTrafficCluster(ctx, c, unread) })
	g.Go(func() error {
		nodes, err := r.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if unread.tolerate("list", ResNodes, err, false) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing nodes: %w", err)
		}
		for _, n := range nodes.Items {
			node := Node{Name: n.Name, Zone: n.Labels[ZoneLabel]}
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady {
					node.Ready = cond.Status == corev1.ConditionTrue
				}
			}
			c.Nodes = append(c.Nodes, node)
		}
		sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].Name < c.Nodes[j].Name })
		return nil
	})
	g.Go(func() error {
		pcs, err := r.Client.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if unread.tolerate("list", ResPriorityClasses, err, false) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing priorityclasses: %w", err)
		}
		c.PriorityClasses = pcs.Items
		return nil
	})
	g.Go(func() error {
		crbs, err := r.Client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if unread.tolerate("list", ResClusterRoleBindings, err, false) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing clusterrolebindings: %w", err)
		}
		c.ClusterRoleBindings = crbs.Items
		return nil
	})
	err := g.Wait()
	c.Unread = unread.list()
	return c, err
}

// Snapshot reads what surrounds one workload: its namespace, pods, and the
// PDBs, Services, HPAs and NetworkPolicies that concern it. The reads of
// the namespace as a whole are shared with the other workloads of the
// namespace when r is Sharing.
func (r *Reader) Snapshot(ctx context.Context, cluster *Cluster, w *Workload) (*Snapshot, error) {
	ns := w.Namespace()
	sel, err := w.Selector()
	if err != nil {
		return nil, fmt.Errorf("%s: bad selector: %w", w.Ref(), err)
	}
	var (
		base  *Snapshot
		pods  []corev1.Pod
		sa    *corev1.ServiceAccount
		usage map[string]map[string]ContainerUsage
	)
	unread := &unreadLog{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		base, err = r.namespaceReads(gctx, cluster, ns)
		return err
	})
	g.Go(func() error {
		var err error
		pods, err = r.pods(gctx, w, sel)
		return err
	})
	g.Go(func() error {
		name := w.PodTemplate().Spec.ServiceAccountName
		if name == "" {
			name = "default"
		}
		got, err := r.Client.CoreV1().ServiceAccounts(ns).Get(gctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || unread.tolerate("get", ResServiceAccounts, err, false) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading serviceaccount %s in %s: %w", name, ns, err)
		}
		sa = got
		return nil
	})
	if cluster.MetricsServed && sel != nil {
		g.Go(func() error {
			usage = r.usage(gctx, ns, sel, unread)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// base may be shared: its slices are read only (projections copy).
	s := *base
	s.Workload, s.Pods, s.ServiceAccount, s.Usage = w, OwnPods(w, pods), sa, usage
	s.Unread = MergeUnread(base.Unread, unread.list())
	if s.Usage != nil {
		// PodMetrics carry no owner: keep the usage of the pods OwnPods kept.
		own := map[string]bool{}
		for _, p := range s.Pods {
			own[p.Name] = true
		}
		maps.DeleteFunc(s.Usage, func(pod string, _ map[string]ContainerUsage) bool { return !own[pod] })
	}
	s.KeepRelated()
	return &s, nil
}

// usage reads the usage of the pods sel selects in ns (metrics.k8s.io),
// per pod then per container; nil when it cannot be read: metrics are a
// bonus, an unavailable metrics server must not stop hardening (a refusal
// is recorded in unread).
func (r *Reader) usage(ctx context.Context, ns string, sel labels.Selector, unread *unreadLog) map[string]map[string]ContainerUsage {
	l, err := r.Metrics.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if unread.tolerate("list", ResPodMetrics, err, false) || err != nil {
		return nil
	}
	usage := map[string]map[string]ContainerUsage{}
	for _, pm := range l.Items {
		m := map[string]ContainerUsage{}
		for _, c := range pm.Containers {
			m[c.Name] = ContainerUsage{CPUMilli: c.Usage.Cpu().MilliValue(), MemoryBytes: c.Usage.Memory().Value()}
		}
		usage[pm.Name] = m
	}
	return usage
}

// namespaceReads is what Snapshot reads of the namespace as a whole, the
// same for each of its workloads (every field of a Snapshot but Workload,
// Pods, ServiceAccount and Usage, the related objects not yet filtered by
// KeepRelated): read once per command by a Reader Sharing.
func (r *Reader) namespaceReads(ctx context.Context, cluster *Cluster, ns string) (*Snapshot, error) {
	if r.shared == nil {
		return r.readNamespace(ctx, cluster, ns)
	}
	return r.shared.Get(ctx, ns, func(ctx context.Context) (*Snapshot, error) { return r.readNamespace(ctx, cluster, ns) })
}

// readNamespace reads namespaceReads, in parallel.
func (r *Reader) readNamespace(ctx context.Context, cluster *Cluster, ns string) (*Snapshot, error) {
	s := &Snapshot{Cluster: cluster}
	unread := &unreadLog{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		n, err := r.Client.CoreV1().Namespaces().Get(gctx, ns, metav1.GetOptions{})
		if unread.tolerate("get", ResNamespaces, err, false) {
			// Its labels and annotations (skips, Pod Security) are unknown.
			s.Namespace = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading namespace %s: %w", ns, err)
		}
		s.Namespace = n
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.PolicyV1().PodDisruptionBudgets(ns).List(gctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing poddisruptionbudgets in %s: %w", ns, err)
		}
		s.PDBs = l.Items
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.CoreV1().Services(ns).List(gctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing services in %s: %w", ns, err)
		}
		s.Services = l.Items
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).List(gctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing horizontalpodautoscalers in %s: %w", ns, err)
		}
		s.HPAs = l.Items
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.NetworkingV1().NetworkPolicies(ns).List(gctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing networkpolicies in %s: %w", ns, err)
		}
		s.NetworkPolicies = l.Items
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.CoreV1().LimitRanges(ns).List(gctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing limitranges in %s: %w", ns, err)
		}
		s.LimitRanges = l.Items
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.RbacV1().RoleBindings(ns).List(gctx, metav1.ListOptions{})
		if unread.tolerate("list", ResRoleBindings, err, false) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing rolebindings in %s: %w", ns, err)
		}
		s.RoleBindings = l.Items
		return nil
	})
	g.Go(func() error {
		var err error
		s.Neighbourhood, s.NeighbourhoodUnread, err = r.neighbourhood(gctx, ns, unread)
		return err
	})
	r.readCopyFacts(gctx, g, s, ns, unread)
	g.Go(func() error { return r.readRoutes(gctx, s, ns, unread) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	s.Unread = unread.list()
	return s, nil
}

// pods lists the workload's pods: by selector, or for a CronJob through the
// Jobs it owns.
func (r *Reader) pods(ctx context.Context, w *Workload, sel labels.Selector) ([]corev1.Pod, error) {
	ns := w.Namespace()
	if sel == nil {
		jobs, err := r.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing jobs in %s: %w", ns, err)
		}
		owned := map[string]bool{}
		for _, j := range jobs.Items {
			if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == w.Object.GetUID() {
				owned[j.Name] = true
			}
		}
		if len(owned) == 0 {
			return nil, nil
		}
		names := make([]string, 0, len(owned))
		for n := range owned {
			names = append(names, n)
		}
		sort.Strings(names)
		req, err := labels.NewRequirement("batch.kubernetes.io/job-name", "in", names)
		if err != nil {
			return nil, err
		}
		sel = labels.NewSelector().Add(*req)
	}
	l, err := r.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing pods in %s: %w", ns, err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items, nil
}

// KeepRelated keeps only the namespace objects that concern the workload
// (PDBs, Services and NetworkPolicies selecting its pods, HPAs targeting
// it); every PDB of the namespace stays in NamespacePDBs.
func (s *Snapshot) KeepRelated() {
	s.keepRelated(namespaceSelectorsOf(s.PDBs, s.Services, s.NetworkPolicies))
}

// namespaceSelectors are the selectors of a namespace's PDBs, Services and
// NetworkPolicies, parsed once for all its workloads (nil: matches
// nothing).
type namespaceSelectors struct {
	pdbs, services, networkPolicies []labels.Selector
	networkPolicyNames              []string
}

func namespaceSelectorsOf(pdbs []policyv1.PodDisruptionBudget, svcs []corev1.Service, nps []networkingv1.NetworkPolicy) *namespaceSelectors {
	n := &namespaceSelectors{}
	for _, p := range pdbs {
		// policy/v1: an empty selector selects every pod of the namespace
		// (policy/v1beta1's selected none), a missing one none.
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			sel = nil
		}
		n.pdbs = append(n.pdbs, sel)
	}
	for _, svc := range svcs {
		var sel labels.Selector
		if len(svc.Spec.Selector) > 0 {
			sel = labels.SelectorFromSet(svc.Spec.Selector)
		}
		n.services = append(n.services, sel)
	}
	for _, np := range nps {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			sel = nil
		}
		n.networkPolicies = append(n.networkPolicies, sel)
		n.networkPolicyNames = append(n.networkPolicyNames, np.Name)
	}
	// Shared by the namespace's snapshots: appending must copy.
	n.networkPolicyNames = slices.Clip(n.networkPolicyNames)
	return n
}

func (s *Snapshot) keepRelated(n *namespaceSelectors) {
	s.NamespacePDBs = s.PDBs
	podLabels := labels.Set(s.Workload.PodTemplate().Labels)
	s.PDBs = matching(s.PDBs, n.pdbs, podLabels)
	s.Services = matching(s.Services, n.services, podLabels)
	var hpas []autoscalingv2.HorizontalPodAutoscaler
	kind := s.Workload.Kind()
	for _, h := range s.HPAs {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind == kind && ref.Name == s.Workload.Name() {
			hpas = append(hpas, h)
		}
	}
	s.HPAs = hpas
	s.NamespaceNetworkPolicyNames = n.networkPolicyNames
	s.NetworkPolicies = matching(s.NetworkPolicies, n.networkPolicies, podLabels)
	s.keepRoutes()
}

// matching keeps the objects whose selector (sels[i] for objs[i]) selects
// the pod labels.
func matching[T any](objs []T, sels []labels.Selector, pod labels.Set) []T {
	var out []T
	for i, sel := range sels {
		if sel != nil && sel.Matches(pod) {
			out = append(out, objs[i])
		}
	}
	return out
}

// PodStats reads the workload's pods again: one LIST, for live progress.
func (r *Reader) PodStats(ctx context.Context, cluster *Cluster, w *Workload) (PodStats, error) {
	sel, err := w.Selector()
	if err != nil {
		return PodStats{}, err
	}
	pods, err := r.pods(ctx, w, sel)
	if err != nil {
		return PodStats{}, err
	}
	return (&Snapshot{Workload: w, Cluster: cluster, Pods: OwnPods(w, pods)}).Stats(), nil
}
