// Package inspect reads the live state of a workload and the objects around
// it into a Snapshot. Rules read Snapshots; they never call the API server.
package inspect

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ZoneLabel and HostnameLabel are the well-known node topology labels.
const (
	ZoneLabel     = "topology.kubernetes.io/zone"
	HostnameLabel = "kubernetes.io/hostname"
)

// Workload is one live workload object, kept both as the server returned it
// (the base of every patch and diff) and as its typed form.
type Workload struct {
	Object *unstructured.Unstructured
	// Exactly one of these is set, matching Object's kind.
	Deployment  *appsv1.Deployment
	StatefulSet *appsv1.StatefulSet
	DaemonSet   *appsv1.DaemonSet
	Job         *batchv1.Job
	CronJob     *batchv1.CronJob
}

// Kinds harden works on, by GroupKind: KindTable's Workloads group.
var Kinds = func() map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for _, k := range KindTable {
		if k.In(Workloads) {
			m[k.GVK.GroupKind()] = true
		}
	}
	return m
}()

// NewWorkload converts a live object of a Workloads kind; it errs for any
// other kind, naming the ones harden works on.
func NewWorkload(obj *unstructured.Unstructured) (*Workload, error) {
	k := KindOf(obj.GetKind())
	if k == nil || !k.In(Workloads) {
		return nil, fmt.Errorf("%s/%s is a %s: kubectl harden works on %s",
			obj.GetKind(), obj.GetName(), obj.GetKind(), workloadResources())
	}
	w := &Workload{Object: obj}
	into, _ := k.bind(w, nil)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.UnstructuredContent(), into); err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return w, nil
}

// workloadResources names the Workloads kinds' resources as a sentence:
// "deployments, statefulsets, daemonsets, jobs and cronjobs".
func workloadResources() string {
	rs := resourcesIn(Workloads)
	return strings.Join(rs[:len(rs)-1], ", ") + " and " + rs[len(rs)-1]
}

func (w *Workload) Kind() string      { return w.Object.GetKind() }
func (w *Workload) Name() string      { return w.Object.GetName() }
func (w *Workload) Namespace() string { return w.Object.GetNamespace() }

// Ref is the kubectl-style reference, e.g. "deployment/web".
func (w *Workload) Ref() string { return strings.ToLower(w.Kind()) + "/" + w.Name() }

// Annotations are the workload's annotations, read from its typed form:
// the unstructured form copies them on every read.
func (w *Workload) Annotations() map[string]string {
	if t := w.typed(); t != nil {
		return t.GetAnnotations()
	}
	return w.Object.GetAnnotations()
}

// typed is the workload's typed object, nil when none is set.
func (w *Workload) typed() interface {
	runtime.Object
	metav1.Object
} {
	switch {
	case w.Deployment != nil:
		return w.Deployment
	case w.StatefulSet != nil:
		return w.StatefulSet
	case w.DaemonSet != nil:
		return w.DaemonSet
	case w.Job != nil:
		return w.Job
	case w.CronJob != nil:
		return w.CronJob
	}
	return nil
}

// PodTemplate is the template the workload's pods are made from.
func (w *Workload) PodTemplate() *corev1.PodTemplateSpec {
	switch {
	case w.Deployment != nil:
		return &w.Deployment.Spec.Template
	case w.StatefulSet != nil:
		return &w.StatefulSet.Spec.Template
	case w.DaemonSet != nil:
		return &w.DaemonSet.Spec.Template
	case w.Job != nil:
		return &w.Job.Spec.Template
	default:
		return &w.CronJob.Spec.JobTemplate.Spec.Template
	}
}

// PodTemplatePath is the field path of PodTemplate inside the object.
func (w *Workload) PodTemplatePath() []string {
	return KindOf(w.Kind()).TemplatePath
}

// Rollout holds, as Workload.RolloutHold reports them.
const (
	// RolloutPaused is a paused Deployment: a template change waits for
	// kubectl rollout resume.
	RolloutPaused = "paused"
	// RolloutOnDelete is a StatefulSet or DaemonSet with updateStrategy
	// OnDelete: a pod takes a template change only when it is deleted.
	RolloutOnDelete = "OnDelete"
)

// RolloutHold says why a change to the pod template does not roll out by
// itself: RolloutPaused, RolloutOnDelete, or "" when it does (or the kind
// does not roll: Job, CronJob).
func (w *Workload) RolloutHold() string {
	switch {
	case w.Deployment != nil && w.Deployment.Spec.Paused:
		return RolloutPaused
	case w.StatefulSet != nil && w.StatefulSet.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType,
		w.DaemonSet != nil && w.DaemonSet.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType:
		return RolloutOnDelete
	}
	return ""
}

// CronJobOwner names the CronJob that controls a Job ("" for none, or for
// other kinds), from its ownerReferences.
func (w *Workload) CronJobOwner() string {
	if w.Job == nil {
		return ""
	}
	if ref := metav1.GetControllerOfNoCopy(w.Job); ref != nil && ref.Kind == "CronJob" && strings.HasPrefix(ref.APIVersion, "batch/") {
		return ref.Name
	}
	return ""
}

// Replicas is the desired number of pods for replicated kinds, and -1 for
// kinds where the question does not apply (DaemonSet, Job, CronJob).
func (w *Workload) Replicas() int32 {
	var r *int32
	switch {
	case w.Deployment != nil:
		r = w.Deployment.Spec.Replicas
	case w.StatefulSet != nil:
		r = w.StatefulSet.Spec.Replicas
	default:
		return -1
	}
	if r == nil {
		return 1
	}
	return *r
}

// Selector selects the workload's pods; nil for a CronJob, whose pods belong
// to the Jobs it creates.
func (w *Workload) Selector() (labels.Selector, error) {
	var s *metav1.LabelSelector
	switch {
	case w.Deployment != nil:
		s = w.Deployment.Spec.Selector
	case w.StatefulSet != nil:
		s = w.StatefulSet.Spec.Selector
	case w.DaemonSet != nil:
		s = w.DaemonSet.Spec.Selector
	case w.Job != nil:
		s = w.Job.Spec.Selector
	default:
		return nil, nil
	}
	if s == nil {
		return labels.SelectorFromSet(w.PodTemplate().Labels), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

// Node is what harden needs to know of a node: where it is.
type Node struct {
	Name  string
	Zone  string
	Ready bool
}

// Cluster holds cluster-scoped facts shared by every workload.
type Cluster struct {
	Context         string
	Server          string
	Nodes           []Node
	PriorityClasses []schedulingv1.PriorityClass
	// ClusterRoleBindings grant rights cluster-wide, to ServiceAccounts too.
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	MetricsServed       bool
	OpenShift           bool
	// Unread are the cluster-scoped reads the API server refused (nodes,
	// PriorityClasses, ClusterRoleBindings, the traffic reads…): the
	// matching fields above are empty because unknown, not because the
	// cluster has none.
	Unread []Unread

	// Traffic says where clients come from: namespaces, ingress and
	// Gateway API classes (network-policy; see traffic.go).
	Traffic TrafficSources
}

// Zones returns the distinct zones of the nodes, sorted.
func (c *Cluster) Zones() []string {
	seen := map[string]bool{}
	var zones []string
	for _, n := range c.Nodes {
		if n.Zone != "" && !seen[n.Zone] {
			seen[n.Zone] = true
			zones = append(zones, n.Zone)
		}
	}
	sort.Strings(zones)
	return zones
}

// ZoneOf returns the zone of a node, or "".
func (c *Cluster) ZoneOf(node string) string {
	for _, n := range c.Nodes {
		if n.Name == node {
			return n.Zone
		}
	}
	return ""
}

// ContainerUsage is observed usage from metrics.k8s.io.
type ContainerUsage struct {
	CPUMilli    int64
	MemoryBytes int64
}

// Snapshot is everything the rules may look at for one workload.
type Snapshot struct {
	Workload  *Workload
	Namespace *corev1.Namespace
	Cluster   *Cluster
	// Pods currently belonging to the workload.
	Pods []corev1.Pod
	// Objects of the namespace that select or target the workload's pods.
	PDBs            []policyv1.PodDisruptionBudget
	NamespacePDBs   []policyv1.PodDisruptionBudget // all of the namespace's
	Services        []corev1.Service
	HPAs            []autoscalingv2.HorizontalPodAutoscaler
	NetworkPolicies []networkingv1.NetworkPolicy
	// NamespaceNetworkPolicyNames are the names taken in the namespace.
	NamespaceNetworkPolicyNames []string
	LimitRanges                 []corev1.LimitRange
	// ServiceAccount the pods run as (nil if it does not exist), and the
	// namespace's RoleBindings.
	ServiceAccount *corev1.ServiceAccount
	RoleBindings   []rbacv1.RoleBinding
	// Usage per pod, then per container; nil when metrics.k8s.io is not served.
	Usage map[string]map[string]ContainerUsage

	// Neighbourhood is every source of pods in the namespace, the workload
	// itself included: each workload by its pod template's labels, and
	// each pod no workload listed controls by its own labels. Read
	// Neighbours for the others. Shared by an audit's snapshots: read
	// only.
	Neighbourhood []Neighbour
	// NeighbourhoodUnread names the resources that could not be listed
	// (forbidden), e.g. "statefulsets": Neighbourhood may miss their
	// workloads.
	NeighbourhoodUnread []string
	// Whether more copies are safe (the replicas rule): every Lease
	// (coordination.k8s.io/v1: leader election) and PersistentVolumeClaim
	// of the namespace. LeasesUnread() and ClaimsUnread() say why they
	// could not be listed (a 403 does not stop the inspection).
	Leases                 []coordinationv1.Lease
	PersistentVolumeClaims []corev1.PersistentVolumeClaim
	// Routes are the namespace's Ingresses and Gateway API routes that send
	// to one of Services; RoutesUnknown names the kinds the user may not
	// list (network-policy; see traffic.go).
	Routes        []Route
	RoutesUnknown []string

	// Unread are the reads of the namespace the API server refused
	// (RoleBindings, the ServiceAccount, Leases, claims, neighbours,
	// routes, pod metrics…); the cluster's are in Cluster.Unread. Read
	// both with Unknown and AllUnread.
	Unread []Unread
}

// PodStats summarises the live pods.
type PodStats struct {
	Total, Ready, Running int
	Restarts              int32
	Zones                 map[string]int // ready pods per zone
	Nodes                 map[string]int // pods per node
	// Problems are waiting/termination reasons seen, e.g. CrashLoopBackOff.
	Problems map[string]int
	// SlowestStart is the longest time a pod took from start to Ready.
	SlowestStart time.Duration
}

// Stats computes PodStats.
func (s *Snapshot) Stats() PodStats {
	st := PodStats{Zones: map[string]int{}, Nodes: map[string]int{}, Problems: map[string]int{}}
	for i := range s.Pods {
		p := &s.Pods[i]
		if p.DeletionTimestamp != nil {
			continue // on its way out
		}
		st.Total++
		if p.Status.Phase == corev1.PodRunning {
			st.Running++
		}
		if p.Spec.NodeName != "" {
			st.Nodes[p.Spec.NodeName]++
		}
		if ready, since := PodReady(p); ready {
			st.Ready++
			st.Zones[s.Cluster.ZoneOf(p.Spec.NodeName)]++
			if p.Status.StartTime != nil && !since.IsZero() {
				if d := since.Sub(p.Status.StartTime.Time); d > st.SlowestStart {
					st.SlowestStart = d
				}
			}
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			st.Restarts += cs.RestartCount
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
				st.Problems[w.Reason]++
			}
			if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
				st.Problems["OOMKilled"]++
			}
		}
	}
	return st
}

// PodReady reports whether the pod is Ready and since when.
func PodReady(p *corev1.Pod) (bool, time.Time) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

// stuckReasons are container states a pod does not leave by itself.
var stuckReasons = map[string]bool{
	"CrashLoopBackOff": true, "ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// StuckPod names the first pod created since then that is stuck in such
// a state, with the reason and message, e.g. `pod web-1:
// CreateContainerConfigError (container has runAsNonRoot and image will
// run as root)`; "" when none is. Older pods were broken before.
func StuckPod(pods []corev1.Pod, since time.Time) string {
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.CreationTimestamp.Time.Before(since) {
			continue
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && stuckReasons[w.Reason] {
				return podReason(p.Name, w.Reason, w.Message)
			}
			if t := cs.State.Terminated; t != nil && p.Status.Phase == corev1.PodFailed {
				return podReason(p.Name, t.Reason, t.Message)
			}
		}
		if p.Status.Phase == corev1.PodFailed {
			return podReason(p.Name, p.Status.Reason, p.Status.Message)
		}
	}
	return ""
}

func podReason(pod, reason, message string) string {
	s := "pod " + pod + ": " + reason
	if message != "" {
		s += " (" + message + ")"
	}
	return s
}

// ServiceAccountName is the ServiceAccount the pods run as.
func (s *Snapshot) ServiceAccountName() string {
	if n := s.Workload.PodTemplate().Spec.ServiceAccountName; n != "" {
		return n
	}
	return "default"
}

// ServiceAccountBound reports whether any RoleBinding or ClusterRoleBinding
// names the pods' ServiceAccount: the pods then use their token.
func (s *Snapshot) ServiceAccountBound() bool {
	sa, ns := s.ServiceAccountName(), s.Workload.Namespace()
	names := func(subjects []rbacv1.Subject) bool {
		for _, sub := range subjects {
			if sub.Kind == rbacv1.ServiceAccountKind && sub.Name == sa && (sub.Namespace == ns || sub.Namespace == "") {
				return true
			}
			if sub.Kind == rbacv1.GroupKind && (sub.Name == "system:serviceaccounts" || sub.Name == "system:serviceaccounts:"+ns) {
				return true
			}
		}
		return false
	}
	for _, rb := range s.RoleBindings {
		if names(rb.Subjects) {
			return true
		}
	}
	for _, crb := range s.Cluster.ClusterRoleBindings {
		// The platform's own bootstrap bindings (service-account issuer
		// discovery…) grant every ServiceAccount next to nothing.
		if strings.HasPrefix(crb.Name, "system:") {
			continue
		}
		if names(crb.Subjects) {
			return true
		}
	}
	return false
}

// KindNamed reports whether a word names a workload kind.
func KindNamed(word string) bool { return workloadNamed[strings.ToLower(word)] != nil }

// CanonicalKind returns the workload kind a word names ("" for none).
func CanonicalKind(word string) string {
	if k := workloadNamed[strings.ToLower(word)]; k != nil {
		return k.Name()
	}
	return ""
}
