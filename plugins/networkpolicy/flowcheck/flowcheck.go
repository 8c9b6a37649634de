// Package flowcheck says whether a set of NetworkPolicies admits a
// connection, with the evaluator of github.com/mattfenwick/cyclonus
// (pkg/matcher: the model cyclonus checks network plugins against). Only
// tests import it: the plugin does not carry the evaluator.
package flowcheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Pod is a pod of the cluster, as a NetworkPolicy sees it: its namespace
// (whose labels are the kubernetes.io/metadata.name label the API server
// sets), its labels, and the ports its containers declare (to resolve
// named policy ports).
type Pod struct {
	Name      string // for messages, e.g. "frontend"
	Namespace string
	Labels    map[string]string
	Ports     []corev1.ContainerPort
}

// Outside is a client outside the cluster (an address no pod has).
var Outside = &Pod{Name: "outside"}

// Flow is one connection: from a pod or Outside, to a pod's port
// (protocol TCP when empty).
type Flow struct {
	From     *Pod
	To       *Pod
	Port     int32
	Protocol corev1.Protocol
}

func (f Flow) String() string {
	from := f.From.Name
	if f.From != Outside {
		from = f.From.Namespace + "/" + from
	}
	return fmt.Sprintf("%s → %s/%s:%d", from, f.To.Namespace, f.To.Name, f.Port)
}

// Checker evaluates flows against a set of policies.
type Checker struct {
	policy *matcher.Policy
}

// New builds the evaluator's model of the policies (every namespace's,
// together, as the cluster enforces them).
func New(policies []*networkingv1.NetworkPolicy) *Checker {
	return &Checker{policy: matcher.BuildNetworkPolicies(true, policies)}
}

// Allowed reports whether the policies admit the flow, both as the
// source's egress and as the destination's ingress, and, when they do
// not, the evaluator's explanation.
func (c *Checker) Allowed(f Flow) (bool, string) {
	protocol := f.Protocol
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	name := ""
	for _, p := range f.To.Ports {
		pp := p.Protocol
		if pp == "" {
			pp = corev1.ProtocolTCP
		}
		if p.ContainerPort == f.Port && pp == protocol {
			name = p.Name
		}
	}
	t := &matcher.Traffic{Source: peer(f.From, "192.0.2.10"), Destination: peer(f.To, "10.244.0.20"),
		ResolvedPort: int(f.Port), ResolvedPortName: name, Protocol: protocol}
	r := c.policy.IsTrafficAllowed(t)
	if r.IsAllowed() {
		return true, ""
	}
	return false, r.Table()
}

func peer(p *Pod, ip string) *matcher.TrafficPeer {
	if p == Outside {
		return &matcher.TrafficPeer{IP: "203.0.113.7"}
	}
	return &matcher.TrafficPeer{IP: ip, Internal: &matcher.InternalPeer{
		Namespace: p.Namespace, PodLabels: maps.Clone(p.Labels),
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": p.Namespace}}}
}

// Check evaluates flows that must be allowed and flows that must be
// denied, and returns one line per flow that is not as it must be.
func (c *Checker) Check(allowed, denied []Flow) []string {
	var wrong []string
	for _, f := range allowed {
		if ok, why := c.Allowed(f); !ok {
			wrong = append(wrong, "needed flow denied: "+f.String()+"\n"+why)
		}
	}
	for _, f := range denied {
		if ok, _ := c.Allowed(f); ok {
			wrong = append(wrong, "unneeded flow allowed: "+f.String())
		}
	}
	return wrong
}

// Names lists policies as namespace/name, for messages.
func Names(policies []*networkingv1.NetworkPolicy) string {
	var out []string
	for _, p := range policies {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
