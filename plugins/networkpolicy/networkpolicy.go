// Package networkpolicy gives pods that no NetworkPolicy selects one that
// admits only the traffic their Services send.
package networkpolicy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the network-policy rule.
type Rule struct{}

const id = "network-policy"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "NetworkPolicy", Category: rules.Network, Severity: rules.Medium,
		Kinds: []string{"Deployment", "StatefulSet", "DaemonSet"},
		Why: "Pods that no NetworkPolicy selects accept connections from every pod of the cluster, on every " +
			"port: one compromised pod anywhere can reach them, admin and debug ports included.",
		Remediation: "Create a NetworkPolicy selecting the pods that admits ingress only on the ports their " +
			"Services target, from the same namespace (and from namespaces you name). Egress stays open " +
			"unless asked; a restricted egress always keeps DNS to kube-dns open.",
		Fixable: true,
		Params: []rules.Param{
			{Name: "allow-from", Description: "namespaces that may connect too, comma-separated (e.g. ingress-nginx)"},
			{Name: "ports", Description: "ports to admit when no Service targets the pods, comma-separated"},
			{Name: "egress", Description: "open (default) or dns-only"},
		},
		OptOuts: []rules.OptOut{{Annotation: "kube-score/ignore", Value: "pod-networkpolicy"}, {Annotation: "ignore-check.kube-linter.io/non-isolated-pod"}},
	}
}

// Check reports pods no NetworkPolicy selects.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	if len(s.NetworkPolicies) > 0 {
		return nil
	}
	return []rules.Finding{{Rule: id, Severity: rules.Medium, Category: rules.Network,
		Message: "no NetworkPolicy selects the pods: every pod of the cluster can connect to them on any port"}}
}

// ports are the pod ports the Services target, as NetworkPolicy ports.
func ports(s *inspect.Snapshot, p rules.Params) ([]any, error) {
	seen := map[string]bool{}
	var out []any
	add := func(protocol corev1.Protocol, port any) {
		if protocol == "" {
			protocol = corev1.ProtocolTCP
		}
		key := fmt.Sprint(protocol, port)
		if !seen[key] {
			seen[key] = true
			out = append(out, map[string]any{"protocol": string(protocol), "port": port})
		}
	}
	if v := p["ports"]; v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("ports: %q is not a port number", f)
			}
			add(corev1.ProtocolTCP, n)
		}
		return out, nil
	}
	for _, svc := range s.Services {
		for _, sp := range svc.Spec.Ports {
			switch {
			case sp.TargetPort.StrVal != "":
				add(sp.Protocol, sp.TargetPort.StrVal)
			case sp.TargetPort.IntVal != 0:
				add(sp.Protocol, int64(sp.TargetPort.IntVal))
			default:
				add(sp.Protocol, int64(sp.Port))
			}
		}
	}
	if len(out) == 0 {
		return nil, rules.Human("no Service sends traffic to the pods: say which ports to admit with --set %s.ports=8080,9090", id)
	}
	return out, nil
}

// Fix creates the policy.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, p rules.Params) (*rules.Fix, error) {
	admitted, err := ports(s, p)
	if err != nil {
		return nil, err
	}
	from := []any{map[string]any{"podSelector": map[string]any{}}}
	if v := p["allow-from"]; v != "" {
		var names []any
		for _, n := range strings.Split(v, ",") {
			names = append(names, strings.TrimSpace(n))
		}
		from = append(from, map[string]any{"namespaceSelector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": names}}}})
	}
	sel, err := rules.OwnPodSelector(s) // exactly the workload's own pods, none of a neighbour's
	if err != nil {
		return nil, err
	}
	name := s.Workload.Name()
	for slices.Contains(s.NamespaceNetworkPolicyNames, name) {
		name += "-harden"
	}
	spec := map[string]any{"podSelector": sel, "policyTypes": []any{"Ingress"},
		"ingress": []any{map[string]any{"from": from, "ports": admitted}}}
	switch p["egress"] {
	case "", "open":
	case "dns-only":
		spec["policyTypes"] = []any{"Ingress", "Egress"}
		spec["egress"] = []any{map[string]any{
			"to": []any{map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
				"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}}}},
			"ports": []any{map[string]any{"protocol": "UDP", "port": int64(53)}, map[string]any{"protocol": "TCP", "port": int64(53)}}}}
	default:
		return nil, fmt.Errorf("egress must be open or dns-only, got %q", p["egress"])
	}
	obj := rules.Identity("networking.k8s.io/v1", "NetworkPolicy", s.Workload.Namespace(), name)
	rules.Set(obj, map[string]any{"app.kubernetes.io/managed-by": "kubectl-harden"}, "metadata", "labels")
	rules.Set(obj, spec, "spec")
	return &rules.Fix{Description: "create NetworkPolicy " + name + " admitting only the Services' ports",
		Changes: []rules.Change{{Object: obj, Create: true}}}, nil
}
