package rulestest

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// decodeTraffic sorts the fixture objects that say where traffic comes
// from (network-policy) into the Snapshot, as internal/inspect reads them:
//   - a NamespaceList: the cluster's namespaces (Cluster.Traffic.Namespaces);
//   - IngressClass, GatewayClass, Gateway: the cluster's classes and Gateways;
//   - ValidatingWebhookConfiguration, MutatingWebhookConfiguration,
//     APIService: the Services the API server calls;
//   - ServiceMonitor, PodMonitor: what the Prometheus Operator scrapes;
//   - Ingress and Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute,
//     TCPRoute): the namespace's routes, kept by KeepRelated when they send
//     to a Service selecting the pods.
//
// It reports whether it knew the kind.
func decodeTraffic(s *inspect.Snapshot, u *unstructured.Unstructured) (bool, error) {
	tr := &s.Cluster.Traffic
	switch u.GetKind() {
	case "NamespaceList":
		l, err := u.ToList()
		if err != nil {
			return true, err
		}
		tr.Namespaces = []string{}
		for _, n := range l.Items {
			tr.Namespaces = append(tr.Namespaces, n.GetName())
		}
	case "IngressClass":
		var ic networkingv1.IngressClass
		if err := convert(u, &ic); err != nil {
			return true, err
		}
		if tr.IngressClasses == nil {
			tr.IngressClasses = map[string]string{}
		}
		tr.IngressClasses[ic.Name] = ic.Spec.Controller
		if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			tr.DefaultIngressClass = ic.Name
		}
	case "GatewayClass":
		if tr.GatewayClasses == nil {
			tr.GatewayClasses = map[string]string{}
		}
		tr.GatewayClasses[u.GetName()], _, _ = unstructured.NestedString(u.Object, "spec", "controllerName")
	case "Gateway":
		if tr.Gateways == nil {
			tr.Gateways = map[string]string{}
		}
		tr.Gateways[u.GetNamespace()+"/"+u.GetName()], _, _ = unstructured.NestedString(u.Object, "spec", "gatewayClassName")
	case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		var cfg admissionregistrationv1.ValidatingWebhookConfiguration // the same clientConfig in both
		if err := convert(u, &cfg); err != nil {
			return true, err
		}
		for _, wh := range cfg.Webhooks {
			if svc := wh.ClientConfig.Service; svc != nil {
				port := int32(443)
				if svc.Port != nil {
					port = *svc.Port
				}
				tr.APIServerCalls = append(tr.APIServerCalls, inspect.APIServerCall{Caller: u.GetKind() + " " + u.GetName(),
					Namespace: svc.Namespace, Service: svc.Name, Port: port})
			}
		}
	case "APIService":
		ns, _, _ := unstructured.NestedString(u.Object, "spec", "service", "namespace")
		name, _, _ := unstructured.NestedString(u.Object, "spec", "service", "name")
		port, found, _ := unstructured.NestedInt64(u.Object, "spec", "service", "port")
		if !found {
			port = 443
		}
		tr.APIServerCalls = append(tr.APIServerCalls, inspect.APIServerCall{Caller: "APIService " + u.GetName(), Namespace: ns, Service: name, Port: int32(port)})
	case "ServiceMonitor", "PodMonitor":
		tr.Monitors = append(tr.Monitors, inspect.Monitors(u.GetKind(), []unstructured.Unstructured{*u})...)
	case "Ingress":
		var ing networkingv1.Ingress
		if err := convert(u, &ing); err != nil {
			return true, err
		}
		s.Routes = append(s.Routes, inspect.IngressRoutes([]networkingv1.Ingress{ing})...)
	case "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute":
		s.Routes = append(s.Routes, inspect.GatewayRoutes(u.GetKind(), []unstructured.Unstructured{*u})...)
	default:
		return false, nil
	}
	return true, nil
}
