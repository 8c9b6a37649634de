package inspect

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// This file reads where a workload's traffic comes from, for the
// network-policy rule: the cluster's namespaces (to find ingress
// controllers and Prometheus), IngressClasses and Gateway API classes and
// Gateways (Reader.Cluster), and each namespace's Ingresses and Gateway
// API routes (Reader.Snapshot, Inventory.Snapshots). A read the user may
// not make (403) or of an API the cluster does not serve (404) leaves the
// fact "not known", never an error: the rule then admits more, not less.

// GatewayGroup is the Gateway API's API group.
const GatewayGroup = "gateway.networking.k8s.io"

// routeKinds are the Gateway API route kinds whose backends receive
// traffic from a Gateway, in the order they are read.
var routeKinds = []string{"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute"}

// TrafficSources are the cluster-wide facts that say where clients come
// from. A nil map or slice is "not known" (forbidden or not served).
type TrafficSources struct {
	// Namespaces are the names of every namespace of the cluster, sorted.
	Namespaces []string
	// IngressClasses maps each IngressClass to its spec.controller, e.g.
	// "k8s.io/ingress-nginx".
	IngressClasses map[string]string
	// DefaultIngressClass is the class annotated
	// ingressclass.kubernetes.io/is-default-class: "true" ("" for none).
	DefaultIngressClass string
	// Routes are the Gateway API route kinds the cluster serves, each at
	// the first of the group's versions (preferred first) that serves it;
	// empty when gateway.networking.k8s.io is not served.
	Routes []RouteResource
	// GatewayClasses maps each GatewayClass to its spec.controllerName.
	GatewayClasses map[string]string
	// Gateways maps each Gateway, as "namespace/name", to its
	// spec.gatewayClassName.
	Gateways map[string]string
	// Monitors are the cluster's ServiceMonitors and PodMonitors (the
	// Prometheus Operator's; see monitors.go): empty when none or not
	// served, nil when they could not be listed.
	Monitors []Monitor
	// APIServerCalls are the Services the API server itself calls: those
	// of admission webhooks and of aggregated APIs (APIServices). Empty
	// when there are none; nil when they could not be listed.
	APIServerCalls []APIServerCall
}

// APIServerCall is a Service the API server calls, e.g. {Caller:
// "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration",
// Namespace: "gatekeeper-system", Service: "gatekeeper-webhook-service",
// Port: 443}.
type APIServerCall struct {
	Caller             string
	Namespace, Service string
	// Port is the Service port called: the object's, else 443 (the API's
	// default for webhooks and APIServices).
	Port int32
}

// RouteResource is one served Gateway API kind: e.g. {HTTPRoute,
// gateway.networking.k8s.io/v1, httproutes}.
type RouteResource struct {
	Kind, GroupVersion, Resource string
}

// Route is an Ingress or a Gateway API route of the workload's namespace,
// reduced to the Services it sends traffic to.
type Route struct {
	Kind, Name string
	// Class is an Ingress's class: spec.ingressClassName, else the legacy
	// kubernetes.io/ingress.class annotation; "" when it names none.
	Class string
	// Parents are a route's spec.parentRefs as "Kind namespace/name"
	// (Kind defaults to Gateway, namespace to the route's).
	Parents []string
	// Backends are the Services of the route's namespace it sends to.
	Backends []Backend
}

// Backend is one Service a route sends traffic to, on the Service port of
// that number or name; with neither, on every port of the Service.
type Backend struct {
	Service  string
	Port     int32
	PortName string
}

// readTrafficCluster lists the namespaces and the IngressClasses, each
// left nil, and recorded in unread, when forbidden.
func (r *Reader) readTrafficCluster(ctx context.Context, c *Cluster, unread *unreadLog) error {
	nss, err := r.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	switch {
	case unread.tolerate("list", ResNamespaces, err, true):
	case err != nil:
		return fmt.Errorf("listing namespaces: %w", err)
	default:
		c.Traffic.Namespaces = []string{}
		for _, n := range nss.Items {
			c.Traffic.Namespaces = append(c.Traffic.Namespaces, n.Name)
		}
		sort.Strings(c.Traffic.Namespaces)
	}
	if err := r.readAPIServerCalls(ctx, c, unread); err != nil {
		return err
	}
	ics, err := r.Client.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	switch {
	case unread.tolerate("list", "ingressclasses", err, true):
	case err != nil:
		return fmt.Errorf("listing ingressclasses: %w", err)
	default:
		c.Traffic.IngressClasses = map[string]string{}
		for _, ic := range ics.Items {
			c.Traffic.IngressClasses[ic.Name] = ic.Spec.Controller
			if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
				c.Traffic.DefaultIngressClass = ic.Name
			}
		}
	}
	return nil
}

// readAPIServerCalls lists the Services the API server calls: the
// validating and mutating webhook configurations' and the APIServices'
// (through the REST client: clients without one, the fake clientset, read
// none). Any of the three lists forbidden leaves c.Traffic.APIServerCalls
// nil: not known (recorded in unread).
func (r *Reader) readAPIServerCalls(ctx context.Context, c *Cluster, unread *unreadLog) error {
	calls := []APIServerCall{}
	add := func(caller string, svc *admissionregistrationv1.ServiceReference) {
		if svc == nil {
			return
		}
		port := int32(443)
		if svc.Port != nil {
			port = *svc.Port
		}
		calls = append(calls, APIServerCall{Caller: caller, Namespace: svc.Namespace, Service: svc.Name, Port: port})
	}
	opts := metav1.ListOptions{ResourceVersion: "0"}
	vw, err := r.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, opts)
	if unread.tolerate("list", "validatingwebhookconfigurations", err, true) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing validatingwebhookconfigurations: %w", err)
	}
	for _, cfg := range vw.Items {
		for _, wh := range cfg.Webhooks {
			add("ValidatingWebhookConfiguration "+cfg.Name, wh.ClientConfig.Service)
		}
	}
	mw, err := r.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, opts)
	if unread.tolerate("list", "mutatingwebhookconfigurations", err, true) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing mutatingwebhookconfigurations: %w", err)
	}
	for _, cfg := range mw.Items {
		for _, wh := range cfg.Webhooks {
			add("MutatingWebhookConfiguration "+cfg.Name, wh.ClientConfig.Service)
		}
	}
	if r.rest() != nil {
		l, err := r.listREST(ctx, RouteResource{Kind: "APIService", GroupVersion: "apiregistration.k8s.io/v1", Resource: "apiservices"}, "", metav1.ListOptions{})
		if unread.tolerate("list", "apiservices", err, true) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing apiservices: %w", err)
		}
		for _, as := range l.Items {
			ns, _, _ := unstructured.NestedString(as.Object, "spec", "service", "namespace")
			name, _, _ := unstructured.NestedString(as.Object, "spec", "service", "name")
			if name == "" {
				continue // served by the API server itself
			}
			port, found, _ := unstructured.NestedInt64(as.Object, "spec", "service", "port")
			if !found {
				port = 443
			}
			p := int32(port)
			add("APIService "+as.GetName(), &admissionregistrationv1.ServiceReference{Namespace: ns, Name: name, Port: &p})
		}
	}
	c.Traffic.APIServerCalls = calls
	return nil
}

// readGatewayAPI finds the Gateway API kinds the cluster serves (one
// discovery request per version of the group) and reads its GatewayClasses
// and Gateways; nothing when the group is not among groups.
func (r *Reader) readGatewayAPI(ctx context.Context, c *Cluster, groups *metav1.APIGroupList, unread *unreadLog) error {
	var versions []string
	for _, g := range groups.Groups {
		if g.Name == GatewayGroup {
			for _, v := range g.Versions {
				versions = append(versions, v.GroupVersion)
			}
			// The preferred version first: its kinds win.
			if p := g.PreferredVersion.GroupVersion; p != "" {
				versions = append([]string{p}, slices.DeleteFunc(versions, func(v string) bool { return v == p })...)
			}
		}
	}
	if len(versions) == 0 || r.rest() == nil {
		return nil
	}
	found := map[string]RouteResource{}
	for _, gv := range versions {
		l, err := r.Client.Discovery().ServerResourcesForGroupVersion(gv)
		if unknowable(err) || discovery.IsGroupDiscoveryFailedError(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("discovering %s: %w", gv, err)
		}
		for _, res := range l.APIResources {
			if _, seen := found[res.Kind]; !seen && !strings.Contains(res.Name, "/") {
				found[res.Kind] = RouteResource{Kind: res.Kind, GroupVersion: gv, Resource: res.Name}
			}
		}
	}
	for _, k := range routeKinds {
		if rr, ok := found[k]; ok {
			c.Traffic.Routes = append(c.Traffic.Routes, rr)
		}
	}
	r.setRoutes(c.Traffic.Routes)
	if rr, ok := found["GatewayClass"]; ok {
		l, err := r.listREST(ctx, rr, "", metav1.ListOptions{})
		if err != nil && !unread.tolerate("list", "gatewayclasses", err, true) {
			return fmt.Errorf("listing gatewayclasses: %w", err)
		}
		if err == nil {
			c.Traffic.GatewayClasses = map[string]string{}
			for _, gc := range l.Items {
				c.Traffic.GatewayClasses[gc.GetName()], _, _ = unstructured.NestedString(gc.Object, "spec", "controllerName")
			}
		}
	}
	if rr, ok := found["Gateway"]; ok {
		l, err := r.listREST(ctx, rr, "", metav1.ListOptions{})
		if err != nil && !unread.tolerate("list", "gateways", err, true) {
			return fmt.Errorf("listing gateways: %w", err)
		}
		if err == nil {
			c.Traffic.Gateways = map[string]string{}
			for _, gw := range l.Items {
				c.Traffic.Gateways[gw.GetNamespace()+"/"+gw.GetName()], _, _ = unstructured.NestedString(gw.Object, "spec", "gatewayClassName")
			}
		}
	}
	return nil
}

// unknowable reports an error that makes a fact unknown rather than the
// read failed: forbidden to this user, or not served by this cluster.
func unknowable(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err)
}

// gatewayRoutes remembers the route kinds Reader.Cluster found, for the
// audit's lists (EachNamespace is not handed the Cluster).
type gatewayRoutes struct {
	mu     sync.Mutex
	routes []RouteResource
}

func (r *Reader) setRoutes(rr []RouteResource) {
	r.gateway.mu.Lock()
	defer r.gateway.mu.Unlock()
	r.gateway.routes = rr
}

func (r *Reader) servedRoutes() []RouteResource {
	r.gateway.mu.Lock()
	defer r.gateway.mu.Unlock()
	return r.gateway.routes
}

// rest is the client's unversioned REST client, nil for clients without
// one (the fake clientset): the Gateway API is then not read.
func (r *Reader) rest() rest.Interface {
	if d := r.Client.Discovery(); d != nil {
		return d.RESTClient()
	}
	return nil
}

// listREST lists one Gateway API kind in a namespace ("" for all), one
// page as opts say.
func (r *Reader) listREST(ctx context.Context, rr RouteResource, namespace string, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	rc := r.rest()
	if rc == nil {
		return &unstructured.UnstructuredList{}, nil
	}
	path := "/apis/" + rr.GroupVersion
	if namespace != "" {
		path += "/namespaces/" + namespace
	}
	req := rc.Get().AbsPath(path, rr.Resource).SetHeader("Accept", "application/json")
	if opts.Limit > 0 {
		req = req.Param("limit", strconv.FormatInt(opts.Limit, 10))
	}
	if opts.Continue != "" {
		req = req.Param("continue", opts.Continue)
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	l := &unstructured.UnstructuredList{}
	if err := l.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("reading %s: %w", rr.Resource, err)
	}
	return l, nil
}

// readRoutes reads the namespace's Ingresses and served Gateway API routes
// into s.Routes, and names the kinds it may not read in s.RoutesUnknown
// (and unread).
func (r *Reader) readRoutes(ctx context.Context, s *Snapshot, ns string, unread *unreadLog) error {
	ings, err := r.Client.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
	switch {
	case unread.tolerate("list", "ingresses", err, false):
		s.RoutesUnknown = append(s.RoutesUnknown, "Ingress")
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("listing ingresses in %s: %w", ns, err)
	case err == nil:
		s.Routes = append(s.Routes, IngressRoutes(ings.Items)...)
	}
	for _, rr := range s.Cluster.Traffic.Routes {
		l, err := r.listREST(ctx, rr, ns, metav1.ListOptions{})
		switch {
		case unread.tolerate("list", rr.Resource, err, false):
			s.RoutesUnknown = append(s.RoutesUnknown, rr.Kind)
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("listing %s in %s: %w", rr.Resource, ns, err)
		case err == nil:
			s.Routes = append(s.Routes, GatewayRoutes(rr.Kind, l.Items)...)
		}
	}
	return nil
}

// IngressRoutes reduces Ingresses to the Services they send to: the
// default backend's and every path's.
func IngressRoutes(ings []networkingv1.Ingress) []Route {
	var out []Route
	for _, ing := range ings {
		rt := Route{Kind: "Ingress", Name: ing.Name, Class: ing.Annotations["kubernetes.io/ingress.class"]}
		if ing.Spec.IngressClassName != nil {
			rt.Class = *ing.Spec.IngressClassName
		}
		add := func(b *networkingv1.IngressBackend) {
			if b == nil || b.Service == nil {
				return
			}
			rt.Backends = append(rt.Backends, Backend{Service: b.Service.Name, Port: b.Service.Port.Number, PortName: b.Service.Port.Name})
		}
		add(ing.Spec.DefaultBackend)
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				add(&p.Backend)
			}
		}
		out = append(out, rt)
	}
	return out
}

// GatewayRoutes reduces Gateway API routes of a kind (every kind has
// spec.parentRefs and spec.rules[].backendRefs) to their parents and the
// Services of their own namespace they send to.
func GatewayRoutes(kind string, items []unstructured.Unstructured) []Route {
	var out []Route
	for _, u := range items {
		rt := Route{Kind: kind, Name: u.GetName()}
		parents, _, _ := unstructured.NestedSlice(u.Object, "spec", "parentRefs")
		for _, p := range parents {
			m, _ := p.(map[string]any)
			pk, pns, name := str(m, "kind"), str(m, "namespace"), str(m, "name")
			if pk == "" {
				pk = "Gateway"
			}
			if pns == "" {
				pns = u.GetNamespace()
			}
			rt.Parents = append(rt.Parents, pk+" "+pns+"/"+name)
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		for _, rule := range rules {
			refs, _, _ := unstructured.NestedSlice(asMap(rule), "backendRefs")
			for _, ref := range refs {
				m := asMap(ref)
				if (str(m, "group") != "" || (str(m, "kind") != "" && str(m, "kind") != "Service")) ||
					(str(m, "namespace") != "" && str(m, "namespace") != u.GetNamespace()) {
					continue // not a Service of this namespace
				}
				port, _, _ := unstructured.NestedInt64(m, "port")
				rt.Backends = append(rt.Backends, Backend{Service: str(m, "name"), Port: int32(port)})
			}
		}
		out = append(out, rt)
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// keepRoutes keeps the routes that send to one of s.Services (already
// those selecting the pods), with only those backends, sorted by kind and
// name.
func (s *Snapshot) keepRoutes() {
	var kept []Route
	for _, rt := range s.Routes {
		var backends []Backend
		for _, b := range rt.Backends {
			if slices.ContainsFunc(s.Services, func(svc corev1.Service) bool { return svc.Name == b.Service }) {
				backends = append(backends, b)
			}
		}
		if len(backends) > 0 {
			rt.Backends = backends
			kept = append(kept, rt)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Kind != kept[j].Kind {
			return kept[i].Kind < kept[j].Kind
		}
		return kept[i].Name < kept[j].Name
	})
	s.Routes = kept
}

// trafficSources are the audit's lists of where traffic comes from: the
// Ingresses and each served Gateway API route kind. A kind the user may
// not list (or the cluster no longer serves) is recorded in unknown (and
// a refusal in unread) and read as empty: it makes no audit fail.
func (r *Reader) trafficSources(sc Scope, unknown *unknownKinds, unread *unreadLog) []source {
	ns := sc.Namespace
	ingresses := func(ctx context.Context, o metav1.ListOptions) (*networkingv1.IngressList, error) {
		l, err := r.Client.NetworkingV1().Ingresses(ns).List(ctx, o)
		if unknowable(err) {
			unknown.add("Ingress", err)
			unread.tolerate("list", "ingresses", err, false)
			return &networkingv1.IngressList{}, nil
		}
		return l, err
	}
	out := []source{newSource("ingresses", "", ingresses, func(inv *Inventory, l []networkingv1.Ingress) {
		inv.Routes = append(inv.Routes, IngressRoutes(l)...)
	})}
	for _, rr := range r.servedRoutes() {
		list := func(ctx context.Context, o metav1.ListOptions) (*unstructured.UnstructuredList, error) {
			l, err := r.listREST(ctx, rr, ns, o)
			if unknowable(err) {
				unknown.add(rr.Kind, err)
				unread.tolerate("list", rr.Resource, err, false)
				return &unstructured.UnstructuredList{}, nil
			}
			return l, err
		}
		out = append(out, newSource(rr.Resource, "", list, func(inv *Inventory, l []unstructured.Unstructured) {
			inv.Routes = append(inv.Routes, GatewayRoutes(rr.Kind, l)...)
		}))
	}
	return out
}

// unknownKinds collects the route kinds a user may not list, for every
// namespace of an audit. The lists fail on their first page, before any
// namespace is handed over.
type unknownKinds struct {
	mu    sync.Mutex
	kinds []string
}

// add records a kind whose LIST was forbidden (a 404 only means the kind
// is gone: there is nothing to miss).
func (u *unknownKinds) add(kind string, err error) {
	if !apierrors.IsForbidden(err) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if !slices.Contains(u.kinds, kind) {
		u.kinds = append(u.kinds, kind)
		sort.Strings(u.kinds)
	}
}

func (u *unknownKinds) list() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.kinds)
}
