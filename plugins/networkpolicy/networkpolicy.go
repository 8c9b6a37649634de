// Package networkpolicy gives pods that no NetworkPolicy selects one that
// admits the traffic the app has, and only it: its Services' clients (from
// outside the cluster for NodePort, LoadBalancer and externalIPs
// Services), its Ingress and Gateway API controllers, the API server when
// it calls them (admission webhooks, aggregated APIs), its peers on the
// ports no Service names, and its metrics scrapers (annotations,
// ServiceMonitors, PodMonitors).
package networkpolicy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the network-policy rule.
type Rule struct{}

const id = "network-policy"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "NetworkPolicy", Category: rules.Network, Severity: rules.Medium,
		Kinds: inspect.KindsIn(inspect.RolledOut),
		Why: "Pods that no NetworkPolicy selects accept connections from every pod of the cluster, on every " +
			"port: one compromised pod anywhere can reach them, admin and debug ports included.",
		Remediation: "Create a NetworkPolicy selecting the pods that admits each flow the app has: the ports " +
			"of NodePort, LoadBalancer and externalIPs Services from anywhere; other Services' target ports " +
			"from the namespace (and namespaces you name; from every namespace in kube-system and *-system " +
			"namespaces, whose shared services — DNS, meshes, operators — the whole cluster calls); the ports of Services behind an Ingress or a " +
			"Gateway API route from the controller's namespace (anywhere when it is not known); the ports of " +
			"Services the API server calls (admission webhooks, APIServices) from anywhere; declared " +
			"containerPorts no Service targets from the pods themselves (gossip, replication); metrics ports " +
			"(named *metrics*, prometheus.io/port; every declared port under prometheus.io/scrape alone; the ports " +
			"ServiceMonitors and PodMonitors scrape) from the monitoring namespace. Egress stays open unless " +
			"asked; a restricted egress always keeps DNS to kube-dns open. Pods on the host network are " +
			"left to a human: most network plugins do not enforce policies on them.",
		Fixable: true, CompanionSuffix: "-harden",
		Params: []rules.Param{
			{Name: "allow-from", Description: "namespaces whose pods call the Services too, comma-separated"},
			{Name: "ports", Description: "more ports to admit from the namespace, comma-separated (needed when no Service targets the pods)"},
			{Name: "ingress-from", Description: "namespaces of the ingress or Gateway proxies, comma-separated (default: detected from the IngressClass or GatewayClass controller, else anywhere)"},
			{Name: "monitoring", Description: "namespaces Prometheus scrapes from, comma-separated (default: the namespace named monitoring, prometheus, observability or a platform's, else every namespace)"},
			{Name: "egress", Description: "open (default) or dns-only"},
		},
		OptOuts: []rules.OptOut{{Annotation: "kube-score/ignore", Value: "pod-networkpolicy"}, {Annotation: "ignore-check.kube-linter.io/non-isolated-pod"}},
	}
}

// Check reports pods no NetworkPolicy selects. Pods on the host network
// are reported for a human: a policy would claim a protection that most
// network plugins do not give them.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	if len(s.NetworkPolicies) > 0 {
		return nil
	}
	f := rules.Finding{Message: "no NetworkPolicy selects the pods: every pod of the cluster can connect to them on any port"}
	if s.Workload.PodTemplate().Spec.HostNetwork {
		f.Message = "the pods use hostNetwork and no NetworkPolicy selects them: they accept every connection the node accepts"
		f.Field = "spec.template.spec.hostNetwork"
		f.NeedsHuman = "most network plugins do not enforce NetworkPolicies on host-network pods (they share the node's " +
			"address): restrict the node's ports with the node firewall or the plugin's host policies (Calico " +
			"HostEndpoint, Cilium host firewall), or run the pods without hostNetwork and create the policy then"
	}
	return []rules.Finding{f}
}

// Fix creates the policy: every port the pods' traffic uses (see
// admitted), from where that traffic comes.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, p rules.Params) (*rules.Fix, error) {
	sel, err := rules.OwnPodSelector(s) // exactly the workload's own pods, none of a neighbour's
	if err != nil {
		return nil, err
	}
	t, err := admitted(s, p)
	if err != nil {
		return nil, err
	}
	t.warnings = append(t.warnings, rules.NeighbourWarnings(s)...)
	ingress, said := t.rules(sel)
	t.warnOtherNamespaces()
	t.warnShared()
	name := rules.CompanionName(s.Workload.Name(), Rule{}.Meta().CompanionSuffix, func(n string) bool {
		return slices.Contains(s.NamespaceNetworkPolicyNames, n)
	})
	spec := map[string]any{"podSelector": sel, "policyTypes": []any{"Ingress"}, "ingress": ingress}
	switch p["egress"] {
	case "", "open":
	case "dns-only":
		spec["policyTypes"] = []any{"Ingress", "Egress"}
		spec["egress"] = []any{map[string]any{
			"to": []any{map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
				"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}}}},
			"ports": []any{map[string]any{"protocol": "UDP", "port": int64(53)}, map[string]any{"protocol": "TCP", "port": int64(53)}}}}
		t.warn("egress is restricted to DNS: the pods can no longer open connections to other Services, the API server or outside")
	default:
		return nil, fmt.Errorf("egress must be open or dns-only, got %q", p["egress"])
	}
	obj := rules.Identity("networking.k8s.io/v1", "NetworkPolicy", s.Workload.Namespace(), name)
	rules.Set(obj, spec, "spec")
	return &rules.Fix{Description: "create NetworkPolicy " + name + " admitting " + said,
		Changes: []rules.Change{{Object: obj, Create: true}}, Warnings: t.warnings}, nil
}

// sharedServices reports whether a namespace holds services the whole
// cluster calls, by the convention platform components follow: kube-system
// (cluster DNS, metrics-server) and the *-system namespaces of operators
// and meshes (istio-system's istiod serves every sidecar, gatekeeper-system,
// cert-manager's…). A ClusterIP Service there admitted from its own
// namespace only would cut the cluster off from it.
func sharedServices(namespace string) bool {
	return namespace == "kube-system" || strings.HasSuffix(namespace, "-system")
}

// admitted is the pods' traffic, from the whole picture: the Services
// selecting them (from anywhere when reachable from outside the cluster,
// else from the namespace and allow-from), the Ingresses and Gateway API
// routes sending to those Services (from their controllers' namespaces,
// else from anywhere), hostPorts (from anywhere), metrics ports (from the
// monitoring namespace, else from every namespace), the other declared
// containerPorts (from the pods themselves: peers), and the ports
// parameter (from the namespace). With no Service and no ports parameter,
// a human must say which ports clients use.
func admitted(s *inspect.Snapshot, p rules.Params) (*traffic, error) {
	if len(s.Services) == 0 && p["ports"] == "" {
		return nil, rules.NeedsHumanf("no Service sends traffic to the pods: say which ports to admit with --set %s.ports=8080,9090", id)
	}
	t := &traffic{}
	declared := containerPorts(s)
	inNamespace := source{origin: fromNamespace, namespaces: names(p["allow-from"])}
	if ns := s.Workload.Namespace(); len(inNamespace.namespaces) == 0 && sharedServices(ns) {
		inNamespace, t.shared = source{origin: fromEveryNamespace}, ns
	}
	targeted := t.fromServices(s, declared, inNamespace)
	if err := t.fromParam(p["ports"], inNamespace); err != nil {
		return nil, err
	}
	t.fromRoutes(s, declared, p)
	t.fromAPIServer(s, declared)
	t.fromHostPorts(declared)
	metrics, scraped := metricsPorts(s, declared)
	t.fromMonitoring(s, slices.Concat(scrapes(metrics, "metrics"), scrapes(scraped, "metrics"), t.monitorScrapes(s, declared)), p)
	t.fromPeers(declared, targeted, metrics)
	if len(t.admissions) == 0 {
		// A policy admitting nothing would cut every client off.
		return nil, rules.NeedsHumanf("Service %s is headless and lists no ports, and the containers declare none: say which ports to admit with --set %s.ports=8080,9090",
			s.Services[0].Name, id)
	}
	return t, nil
}
