package networkpolicy

import (
	"slices"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// controllers maps the controller names IngressClasses (spec.controller)
// and GatewayClasses (spec.controllerName) carry, by prefix, to the
// namespaces each project's install guide puts its proxies in.
var controllers = []struct {
	prefix     string
	namespaces []string
}{
	{"k8s.io/ingress-nginx", []string{"ingress-nginx"}},
	{"nginx.org/ingress-controller", []string{"nginx-ingress"}},
	{"gateway.nginx.org/", []string{"nginx-gateway"}},
	{"traefik.io/", []string{"traefik", "traefik-system"}},
	{"ingress-controllers.konghq.com/", []string{"kong"}},
	{"konghq.com/", []string{"kong"}},
	{"haproxy.org/", []string{"haproxy-controller"}},
	{"projectcontour.io/", []string{"projectcontour"}},
	{"istio.io/", []string{"istio-system", "istio-ingress"}},
	{"gateway.envoyproxy.io/", []string{"envoy-gateway-system"}},
}

// controllerNamespaces are the namespaces a route's traffic comes from,
// with how they were found (or why they were not: then none):
//   - an Ingress: its class (or the default class) names a known
//     controller, one of whose namespaces exists;
//   - a Gateway API route: every parent Gateway's class names a known
//     controller, one of whose namespaces exists; the Gateway's own
//     namespace is added, where several implementations run the proxy.
func controllerNamespaces(s *inspect.Snapshot, rt inspect.Route) ([]string, string) {
	tr := s.Cluster.Traffic
	if tr.Namespaces == nil {
		return nil, "the cluster's namespaces could not be listed"
	}
	if rt.Kind == "Ingress" {
		class := rt.Class
		if class == "" {
			class = tr.DefaultIngressClass
		}
		switch {
		case class == "":
			return nil, "it names no IngressClass and none is the default"
		case tr.IngressClasses == nil:
			return nil, "IngressClasses could not be listed"
		case tr.IngressClasses[class] == "":
			return nil, "IngressClass " + class + " does not exist"
		}
		ctrl := tr.IngressClasses[class]
		nss := existing(tr.Namespaces, knownNamespaces(ctrl))
		if len(nss) == 0 {
			return nil, "the namespace of controller " + ctrl + " (class " + class + ") is not known"
		}
		return nss, "class " + class + ", controller " + ctrl
	}
	var out, how []string
	for _, parent := range rt.Parents {
		kind, ref, _ := strings.Cut(parent, " ")
		if kind != "Gateway" {
			return nil, "its parent " + parent + " is not a Gateway"
		}
		class, ok := tr.Gateways[ref]
		if !ok {
			return nil, "its Gateway " + ref + " could not be read"
		}
		ctrl := tr.GatewayClasses[class]
		nss := existing(tr.Namespaces, knownNamespaces(ctrl))
		if ctrl == "" || len(nss) == 0 {
			return nil, "the namespace of the controller of GatewayClass " + class + " is not known"
		}
		gwNamespace, _, _ := strings.Cut(ref, "/")
		for _, n := range append(nss, gwNamespace) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		how = append(how, "Gateway "+ref+", controller "+ctrl)
	}
	if len(out) == 0 {
		return nil, "it names no parent Gateway"
	}
	slices.Sort(out)
	return out, strings.Join(how, ", ")
}

// knownNamespaces are the usual namespaces of a controller; none when it
// is not one of controllers.
func knownNamespaces(controller string) []string {
	for _, c := range controllers {
		if controller == c.prefix || strings.HasSuffix(c.prefix, "/") && strings.HasPrefix(controller, c.prefix) {
			return c.namespaces
		}
	}
	return nil
}

// existing keeps the candidates that are namespaces of the cluster.
func existing(cluster, candidates []string) []string {
	var out []string
	for _, c := range candidates {
		if slices.Contains(cluster, c) {
			out = append(out, c)
		}
	}
	return out
}

// monitoringNames are the namespaces Prometheus is installed in by the
// usual charts and operators: kube-prometheus and its Helm chart
// (monitoring), the prometheus-community charts' examples (prometheus),
// OpenTelemetry/Grafana stacks (observability), OpenShift
// (openshift-monitoring, openshift-user-workload-monitoring), Rancher
// (cattle-monitoring-system) and GKE's managed Prometheus (gmp-system).
// Matching names costs no request; finding Prometheus pods would cost a
// LIST of every namespace's pods.
var monitoringNames = []string{"monitoring", "prometheus", "observability", "openshift-monitoring",
	"openshift-user-workload-monitoring", "cattle-monitoring-system", "gmp-system"}

// monitoringNamespaces are the cluster's namespaces named as
// monitoringNames; with none, why.
func monitoringNamespaces(cluster []string) ([]string, string) {
	if cluster == nil {
		return nil, "the cluster's namespaces could not be listed to find the monitoring one"
	}
	if nss := existing(cluster, monitoringNames); len(nss) > 0 {
		return nss, ""
	}
	return nil, "no monitoring namespace detected (none is named " + strings.Join(monitoringNames[:3], ", ") + " or a platform's)"
}
