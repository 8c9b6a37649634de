package inspect

// A read-only user (the built-in `view` ClusterRole, or `view` bound in one
// namespace) may not read everything harden looks at: nodes, PriorityClasses
// and RBAC bindings are not in `view`. Every such optional read that the API
// server refuses (403) — or, for a kind the cluster may not serve, answers
// 404 — is recorded as an Unread instead of failing the inspection; the
// report names each one with what is unknown because of it, and the rules
// that need it say so. The workload and its pods are not optional: a refusal
// there is still an error.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Unread reasons.
const (
	ReasonForbidden = "forbidden"  // 403: the user may not read it
	ReasonNotServed = "not served" // 404 on a LIST: the cluster does not serve the kind
)

// Resources whose reads may be refused without failing the inspection, as
// RBAC names them (resource, or resource.group outside the core and the
// well-known groups).
const (
	ResNodes               = "nodes"
	ResPriorityClasses     = "priorityclasses"
	ResClusterRoleBindings = "clusterrolebindings"
	ResRoleBindings        = "rolebindings"
	ResServiceAccounts     = "serviceaccounts"
	ResNamespaces          = "namespaces"
	ResLeases              = "leases"
	ResClaims              = "persistentvolumeclaims"
	ResPodMetrics          = "pods.metrics.k8s.io"
)

// Unread is one read the API server refused, e.g. {Verb: list, Resource:
// nodes, Reason: forbidden, Message: `nodes is forbidden: User "viewer"
// cannot list resource "nodes" …`}.
type Unread struct {
	// Resource is the resource as RBAC names it: "nodes", "rolebindings",
	// "pods.metrics.k8s.io".
	Resource string `json:"resource"`
	// Verb is "list" or "get".
	Verb string `json:"verb"`
	// Reason is ReasonForbidden or ReasonNotServed.
	Reason string `json:"reason"`
	// Message is the API server's own message.
	Message string `json:"message,omitempty"`
}

// unknownWithout says what harden cannot know without each resource, in
// Kubernetes' terms; a resource not listed here is a neighbour's or a
// route's kind (see Unknown).
var unknownWithout = map[string]string{
	ResNodes:                          "zones",
	ResPriorityClasses:                "PriorityClasses",
	ResClusterRoleBindings:            "RBAC bindings",
	ResRoleBindings:                   "RBAC bindings",
	ResServiceAccounts:                "the ServiceAccount's automountServiceAccountToken",
	ResNamespaces:                     "namespaces (ingress controllers, monitoring)",
	ResLeases:                         "leader-election Leases",
	ResClaims:                         "PersistentVolumeClaims' access modes",
	ResPodMetrics:                     "observed CPU and memory usage",
	"ingressclasses":                  "IngressClasses",
	"validatingwebhookconfigurations": "admission webhooks' Services",
	"mutatingwebhookconfigurations":   "admission webhooks' Services",
	"apiservices":                     "aggregated APIs' Services",
	"gatewayclasses":                  "GatewayClasses",
	"gateways":                        "Gateways",
	"servicemonitors":                 "ServiceMonitors (Prometheus scrapes)",
	"podmonitors":                     "PodMonitors (Prometheus scrapes)",
	"ingresses":                       "Ingresses",
	"httproutes":                      "HTTPRoutes",
	"grpcroutes":                      "GRPCRoutes",
	"tlsroutes":                       "TLSRoutes",
	"tcproutes":                       "TCPRoutes",
	"deployments":                     "other Deployments (selector overlaps)",
	"statefulsets":                    "other StatefulSets (selector overlaps)",
	"daemonsets":                      "other DaemonSets (selector overlaps)",
	"jobs":                            "other Jobs (selector overlaps)",
	"cronjobs":                        "other CronJobs (selector overlaps)",
	"pods":                            "other pods (selector overlaps)",
}

// Unknown is what cannot be known without it, e.g. "zones".
func (u Unread) Unknown() string {
	if u.Resource == ResNamespaces && u.Verb == "get" {
		return "the namespace's labels and annotations (Pod Security, skips)"
	}
	if s, ok := unknownWithout[u.Resource]; ok {
		return s
	}
	return u.Resource
}

// String is the report's line, e.g. "zones unknown: nodes cannot be listed
// (forbidden)".
func (u Unread) String() string {
	verb := "listed"
	if u.Verb == "get" {
		verb = "read"
	}
	return fmt.Sprintf("%s unknown: %s cannot be %s (%s)", u.Unknown(), u.Resource, verb, u.Reason)
}

// Short is the note a rule adds to a finding, e.g. "zones unknown: nodes
// forbidden".
func (u Unread) Short() string {
	return fmt.Sprintf("%s unknown: %s %s", u.Unknown(), u.Resource, u.Reason)
}

// FindUnread returns the entry of a resource in list.
func FindUnread(list []Unread, resource string) (Unread, bool) {
	i := slices.IndexFunc(list, func(u Unread) bool { return u.Resource == resource })
	if i < 0 {
		return Unread{}, false
	}
	return list[i], true
}

// MergeUnread joins lists into one, sorted by resource then verb, each
// resource and verb once.
func MergeUnread(lists ...[]Unread) []Unread {
	var out []Unread
	for _, l := range lists {
		for _, u := range l {
			if !slices.ContainsFunc(out, func(o Unread) bool { return o.Resource == u.Resource && o.Verb == u.Verb }) {
				out = append(out, u)
			}
		}
	}
	slices.SortFunc(out, func(a, b Unread) int {
		if c := strings.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		return strings.Compare(a.Verb, b.Verb)
	})
	return out
}

// Unknown reports whether the snapshot lacks a resource, cluster-scoped
// (Cluster.Unread) or of the namespace (Snapshot.Unread), and why.
func (s *Snapshot) Unknown(resource string) (Unread, bool) {
	if u, ok := FindUnread(s.Unread, resource); ok {
		return u, true
	}
	if s.Cluster != nil {
		return FindUnread(s.Cluster.Unread, resource)
	}
	return Unread{}, false
}

// AllUnread is every read the snapshot lacks, cluster-scoped and of the
// namespace, sorted.
func (s *Snapshot) AllUnread() []Unread {
	var cluster []Unread
	if s.Cluster != nil {
		cluster = s.Cluster.Unread
	}
	return MergeUnread(cluster, s.Unread)
}

// LeasesUnread is why the namespace's Leases could not be listed: the API
// server's message, "" when they were.
func (s *Snapshot) LeasesUnread() string { return s.unreadMessage(ResLeases) }

// ClaimsUnread is why the namespace's PersistentVolumeClaims could not be
// listed: the API server's message, "" when they were.
func (s *Snapshot) ClaimsUnread() string { return s.unreadMessage(ResClaims) }

func (s *Snapshot) unreadMessage(resource string) string {
	u, ok := s.Unknown(resource)
	switch {
	case !ok:
		return ""
	case u.Message != "":
		return u.Message
	}
	return u.Reason
}

// unreadLog collects the refused reads of concurrent requests.
type unreadLog struct {
	mu    sync.Mutex
	items []Unread
}

// tolerate records err when it makes the read unread rather than failed —
// a 403 and, when notServed is true (a LIST of a kind the cluster may not
// serve), a 404 — and reports whether it did. nil and any other error are
// not recorded: the caller returns them.
func (l *unreadLog) tolerate(verb, resource string, err error, notServed bool) bool {
	var reason string
	switch {
	case err == nil:
		return false
	case apierrors.IsForbidden(err):
		reason = ReasonForbidden
	case notServed && apierrors.IsNotFound(err):
		reason = ReasonNotServed
	default:
		return false
	}
	msg := err.Error()
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		msg = status.Status().Message
	}
	l.add(Unread{Resource: resource, Verb: verb, Reason: reason, Message: msg})
	return true
}

func (l *unreadLog) add(u Unread) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = MergeUnread(l.items, []Unread{u})
}

// list is what was recorded, sorted; nil for nothing.
func (l *unreadLog) list() []Unread {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// ClusterWideError is an audit of every namespace (-A) refused a LIST at
// the cluster scope: the user's rights are those of some namespaces only.
type ClusterWideError struct {
	Resource string
	Err      error
}

func (e *ClusterWideError) Error() string {
	where := " in every namespace"
	if e.Resource == ResNamespaces {
		where = ""
	}
	return fmt.Sprintf("listing %s%s is forbidden (audit -A needs list %s cluster-wide): "+
		"audit a namespace you may read with -n NAMESPACE, or bind the ClusterRole of docs/rbac/harden-audit.yaml", e.Resource, where, e.Resource)
}

func (e *ClusterWideError) Unwrap() error { return e.Err }
