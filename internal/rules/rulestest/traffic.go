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
	decode, ok := trafficDecoders[u.GetKind()]
	if !ok {
		return false, nil
	}
	return true, decode(s, u)
}

// trafficDecoders are decodeTraffic's, by kind.
var trafficDecoders = map[string]func(*inspect.Snapshot, *unstructured.Unstructured) error{
	"NamespaceList":                  decodeNamespaceList,
	"IngressClass":                   decodeIngressClass,
	"GatewayClass":                   decodeGatewayClass,
	"Gateway":                        decodeGateway,
	"ValidatingWebhookConfiguration": decodeWebhooks,
	"MutatingWebhookConfiguration":   decodeWebhooks,
	"APIService":                     decodeAPIService,
	"ServiceMonitor":                 decodeMonitor,
	"PodMonitor":                     decodeMonitor,
	"Ingress":                        decodeIngress,
	"HTTPRoute":                      decodeGatewayRoute,
	"GRPCRoute":                      decodeGatewayRoute,
	"TLSRoute":                       decodeGatewayRoute,
	"TCPRoute":                       decodeGatewayRoute,
}

// decodeNamespaceList sets the cluster's namespaces, by name; a list
// with no items is known and empty.
func decodeNamespaceList(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	l, err := u.ToList()
	if err != nil {
		return err
	}
	tr := &s.Cluster.Traffic
	tr.Namespaces = []string{}
	for _, n := range l.Items {
		tr.Namespaces = append(tr.Namespaces, n.GetName())
	}
	return nil
}

// decodeIngressClass adds an IngressClass's controller, by class name,
// and makes it the default when it is annotated so.
func decodeIngressClass(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	var ic networkingv1.IngressClass
	if err := convert(u, &ic); err != nil {
		return err
	}
	tr := &s.Cluster.Traffic
	if tr.IngressClasses == nil {
		tr.IngressClasses = map[string]string{}
	}
	tr.IngressClasses[ic.Name] = ic.Spec.Controller
	if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
		tr.DefaultIngressClass = ic.Name
	}
	return nil
}

// decodeGatewayClass adds a GatewayClass's controllerName, by class name.
func decodeGatewayClass(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	tr := &s.Cluster.Traffic
	if tr.GatewayClasses == nil {
		tr.GatewayClasses = map[string]string{}
	}
	tr.GatewayClasses[u.GetName()], _, _ = unstructured.NestedString(u.Object, "spec", "controllerName")
	return nil
}

// decodeGateway adds a Gateway's class, by NAMESPACE/NAME.
func decodeGateway(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	tr := &s.Cluster.Traffic
	if tr.Gateways == nil {
		tr.Gateways = map[string]string{}
	}
	tr.Gateways[u.GetNamespace()+"/"+u.GetName()], _, _ = unstructured.NestedString(u.Object, "spec", "gatewayClassName")
	return nil
}

// decodeWebhooks adds a validating or mutating webhook configuration's
// calls to Services (port 443 when unset, the API's default).
func decodeWebhooks(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration // the same clientConfig in both
	if err := convert(u, &cfg); err != nil {
		return err
	}
	tr := &s.Cluster.Traffic
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
	return nil
}

// decodeAPIService adds an aggregated API's call to its Service (port 443
// when unset, the API's default).
func decodeAPIService(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	ns, _, _ := unstructured.NestedString(u.Object, "spec", "service", "namespace")
	name, _, _ := unstructured.NestedString(u.Object, "spec", "service", "name")
	port, found, _ := unstructured.NestedInt64(u.Object, "spec", "service", "port")
	if !found {
		port = 443
	}
	tr := &s.Cluster.Traffic
	tr.APIServerCalls = append(tr.APIServerCalls, inspect.APIServerCall{Caller: "APIService " + u.GetName(), Namespace: ns, Service: name, Port: int32(port)})
	return nil
}

// decodeMonitor adds a ServiceMonitor's or PodMonitor's scrapes.
func decodeMonitor(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	tr := &s.Cluster.Traffic
	tr.Monitors = append(tr.Monitors, inspect.Monitors(u.GetKind(), []unstructured.Unstructured{*u})...)
	return nil
}

// decodeIngress adds an Ingress's routes.
func decodeIngress(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	var ing networkingv1.Ingress
	if err := convert(u, &ing); err != nil {
		return err
	}
	s.Routes = append(s.Routes, inspect.IngressRoutes([]networkingv1.Ingress{ing})...)
	return nil
}

// decodeGatewayRoute adds a Gateway API route's routes.
func decodeGatewayRoute(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	s.Routes = append(s.Routes, inspect.GatewayRoutes(u.GetKind(), []unstructured.Unstructured{*u})...)
	return nil
}
