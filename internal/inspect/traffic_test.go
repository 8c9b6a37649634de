package inspect

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func webDeployment(t *testing.T) *Workload {
	t.Helper()
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}},
	}
	return workloadOf(t, dep)
}

func service(name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Port: 80}}}}
}

func ingress(name, svc string) *networkingv1.Ingress {
	class := "nginx"
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
}

// A Snapshot, and an audit's, keep the Ingresses that send to a Service
// selecting the pods, and the cluster's namespaces and IngressClasses.
func TestSnapshotRoutesToItsServices(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx"}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx",
			Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
		service("web", map[string]string{"app": "web"}), service("other", map[string]string{"app": "other"}),
		ingress("to-web", "web"), ingress("to-other", "other"))
	r := &Reader{Client: client}
	cluster, err := r.Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr := cluster.Traffic
	if !slices.Equal(tr.Namespaces, []string{"ingress-nginx", "shop"}) || tr.IngressClasses["nginx"] != "k8s.io/ingress-nginx" || tr.DefaultIngressClass != "nginx" {
		t.Errorf("cluster traffic sources %+v", tr)
	}
	want := []Route{{Kind: "Ingress", Name: "to-web", Class: "nginx", Backends: []Backend{{Service: "web", Port: 80}}}}
	s, err := r.Snapshot(context.Background(), cluster, webDeployment(t))
	if err != nil {
		t.Fatal(err)
	}
	if !equalRoutes(s.Routes, want) || s.RoutesUnknown != nil {
		t.Errorf("snapshot routes %+v (unknown %v), want %+v", s.Routes, s.RoutesUnknown, want)
	}
	client.Tracker().Add(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: webDeployment(t).Deployment.Spec})
	var audited []*Snapshot
	err = r.EachNamespace(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}}, func(inv *Inventory) error {
		audited = append(audited, inv.Snapshots(cluster)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(audited) != 1 || !equalRoutes(audited[0].Routes, want) {
		t.Errorf("audit snapshots %+v, want one with routes %+v", audited, want)
	}
}

func equalRoutes(a, b []Route) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A user who may not list namespaces, IngressClasses, Ingresses or webhook
// configurations gets facts "not known" (nil), and an error from none of
// the reads.
func TestTrafficForbiddenIsNotKnown(t *testing.T) {
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	for _, res := range []string{"namespaces", "ingressclasses", "ingresses", "mutatingwebhookconfigurations"} {
		client.PrependReactor("list", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: res}, "", nil)
		})
	}
	r := &Reader{Client: client}
	cluster, err := r.Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cluster.Traffic.Namespaces != nil || cluster.Traffic.IngressClasses != nil || cluster.Traffic.APIServerCalls != nil {
		t.Errorf("forbidden facts are known: %+v", cluster.Traffic)
	}
	s, err := r.Snapshot(context.Background(), cluster, webDeployment(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.RoutesUnknown, []string{"Ingress"}) {
		t.Errorf("RoutesUnknown %v, want [Ingress]", s.RoutesUnknown)
	}
	// The audit's own namespace read stays required; its Ingress list not.
	audit := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: webDeployment(t).Deployment.Spec})
	audit.PrependReactor("list", "ingresses", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "", nil)
	})
	var unknown [][]string
	err = (&Reader{Client: audit}).EachNamespace(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}}, func(inv *Inventory) error {
		unknown = append(unknown, inv.RoutesUnknown)
		return nil
	})
	if err != nil || len(unknown) != 1 || !slices.Equal(unknown[0], []string{"Ingress"}) {
		t.Errorf("audit: %v, RoutesUnknown %v, want [Ingress] in its one namespace", err, unknown)
	}
}

// gatewayServer is an API server serving the Gateway API (HTTPRoute in v1,
// TCPRoute in v1alpha2, TLSRoute forbidden to the user): just enough
// discovery and lists for Reader.Cluster, Snapshot and EachNamespace.
func gatewayServer(t *testing.T) *httptest.Server {
	t.Helper()
	obj := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	list := func(items ...string) string { return `{"metadata":{},"items":[` + strings.Join(items, ",") + `]}` }
	// The Gateway API's lists, as an API server sends them: with a kind.
	glist := func(kind string, items ...string) string {
		return `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"` + kind + `List","metadata":{},"items":[` + strings.Join(items, ",") + `]}`
	}
	route := `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"web","namespace":"shop"},
		"spec":{"parentRefs":[{"name":"public","namespace":"infra"}],"rules":[{"backendRefs":[{"name":"web","port":80},{"name":"elsewhere","namespace":"other","port":80}]}]}}`
	tcp := `{"apiVersion":"gateway.networking.k8s.io/v1alpha2","kind":"TCPRoute","metadata":{"name":"other","namespace":"shop"},
		"spec":{"parentRefs":[{"name":"tcp"}],"rules":[{"backendRefs":[{"name":"other","port":80}]}]}}`
	dep := webDeployment(t).Deployment.DeepCopy()
	dep.TypeMeta = metav1.TypeMeta{}
	bodies := map[string]string{
		"/api": `{"kind":"APIVersions","versions":["v1"]}`,
		"/apis": `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"gateway.networking.k8s.io","versions":[{"groupVersion":"gateway.networking.k8s.io/v1alpha2","version":"v1alpha2"},{"groupVersion":"gateway.networking.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"gateway.networking.k8s.io/v1","version":"v1"}},
			{"name":"monitoring.coreos.com","versions":[{"groupVersion":"monitoring.coreos.com/v1","version":"v1"}],"preferredVersion":{"groupVersion":"monitoring.coreos.com/v1","version":"v1"}}]}`,
		"/apis/monitoring.coreos.com/v1/servicemonitors": `{"apiVersion":"monitoring.coreos.com/v1","kind":"ServiceMonitorList","metadata":{},"items":[
			{"metadata":{"name":"shop","namespace":"monitoring"},"spec":{"namespaceSelector":{"matchNames":["shop"]},"selector":{"matchLabels":{"app":"web"}},
			"endpoints":[{"port":"http"},{"targetPort":9102}]}}]}`,
		"/apis/monitoring.coreos.com/v1/podmonitors": `{"apiVersion":"monitoring.coreos.com/v1","kind":"PodMonitorList","metadata":{},"items":[
			{"metadata":{"name":"all","namespace":"shop"},"spec":{"namespaceSelector":{"any":true},"podMetricsEndpoints":[{"portNumber":9090},{"port":"admin"}]}}]}`,
		"/apis/gateway.networking.k8s.io/v1": `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"gateway.networking.k8s.io/v1","resources":[
			{"name":"httproutes","namespaced":true,"kind":"HTTPRoute","verbs":["list"]},{"name":"httproutes/status","namespaced":true,"kind":"HTTPRoute","verbs":["get"]},
			{"name":"gateways","namespaced":true,"kind":"Gateway","verbs":["list"]},{"name":"gatewayclasses","namespaced":false,"kind":"GatewayClass","verbs":["list"]}]}`,
		"/apis/gateway.networking.k8s.io/v1alpha2": `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"gateway.networking.k8s.io/v1alpha2","resources":[
			{"name":"httproutes","namespaced":true,"kind":"HTTPRoute","verbs":["list"]},{"name":"tcproutes","namespaced":true,"kind":"TCPRoute","verbs":["list"]},
			{"name":"tlsroutes","namespaced":true,"kind":"TLSRoute","verbs":["list"]}]}`,
		"/apis/gateway.networking.k8s.io/v1/gatewayclasses":                  glist("GatewayClass", `{"metadata":{"name":"eg"},"spec":{"controllerName":"gateway.envoyproxy.io/gatewayclass-controller"}}`),
		"/apis/gateway.networking.k8s.io/v1/gateways":                        glist("Gateway", `{"metadata":{"name":"public","namespace":"infra"},"spec":{"gatewayClassName":"eg"}}`),
		"/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes":      glist("HTTPRoute", route),
		"/apis/gateway.networking.k8s.io/v1/httproutes":                      glist("HTTPRoute", route),
		"/apis/gateway.networking.k8s.io/v1alpha2/namespaces/shop/tcproutes": glist("TCPRoute", tcp),
		"/apis/gateway.networking.k8s.io/v1alpha2/tcproutes":                 glist("TCPRoute", tcp),
		"/api/v1/namespaces":               list(`{"metadata":{"name":"shop"}}`, `{"metadata":{"name":"infra"}}`),
		"/api/v1/namespaces/shop":          `{"metadata":{"name":"shop"}}`,
		"/api/v1/services":                 list(obj(service("web", map[string]string{"app": "web"}))),
		"/api/v1/namespaces/shop/services": list(obj(service("web", map[string]string{"app": "web"}))),
		"/apis/apps/v1/deployments":        list(obj(dep)),
		// metrics-server's APIService, and one the API server serves itself.
		"/apis/apiregistration.k8s.io/v1/apiservices": `{"apiVersion":"apiregistration.k8s.io/v1","kind":"APIServiceList","metadata":{},"items":[
			{"metadata":{"name":"v1beta1.metrics.k8s.io"},"spec":{"service":{"namespace":"kube-system","name":"metrics-server","port":8443}}},
			{"metadata":{"name":"v1.apps"},"spec":{}}]}`,
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": `{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfigurationList","metadata":{},"items":[
			{"metadata":{"name":"gatekeeper"},"webhooks":[{"name":"validation.gatekeeper.sh","clientConfig":{"service":{"namespace":"gatekeeper-system","name":"gatekeeper-webhook-service","path":"/v1/admit"}}},
			{"name":"outside.example.com","clientConfig":{"url":"https://hooks.example.com/"}}]}]}`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(req.URL.Path, "tlsroutes") {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`))
			return
		}
		body, ok := bodies[req.URL.Path]
		switch {
		case ok:
		case strings.HasSuffix(req.URL.Path, "/serviceaccounts/default"):
			w.WriteHeader(http.StatusNotFound)
			body = `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`
		default:
			body = list() // every other list is empty
		}
		_, _ = w.Write([]byte(body))
	}))
}

// The Gateway API is read through the REST client when served: each route
// kind at the first version serving it, the classes and Gateways, the
// routes that send to the pods' Services (a backend of another namespace
// left out), and a kind the user may not list is "not known".
func TestGatewayAPIRoutes(t *testing.T) {
	srv := gatewayServer(t)
	defer srv.Close()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := &Reader{Client: client}
	cluster, err := r.Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr := cluster.Traffic
	wantKinds := []RouteResource{{"HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes"},
		{"TLSRoute", "gateway.networking.k8s.io/v1alpha2", "tlsroutes"}, {"TCPRoute", "gateway.networking.k8s.io/v1alpha2", "tcproutes"}}
	if !slices.Equal(tr.Routes, wantKinds) || tr.GatewayClasses["eg"] != "gateway.envoyproxy.io/gatewayclass-controller" || tr.Gateways["infra/public"] != "eg" {
		t.Errorf("gateway API facts %+v", tr)
	}
	monitors := []Monitor{
		{Kind: "ServiceMonitor", Namespace: "monitoring", Name: "shop", Namespaces: []string{"shop"},
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ports:    []MonitorPort{{ServicePort: "http"}, {Pod: intstr.FromInt32(9102)}}},
		{Kind: "PodMonitor", Namespace: "shop", Name: "all", AnyNamespace: true,
			Ports: []MonitorPort{{Pod: intstr.FromInt32(9090)}, {Pod: intstr.FromString("admin")}}},
	}
	if !reflect.DeepEqual(tr.Monitors, monitors) || !tr.Monitors[0].Watches("shop") || tr.Monitors[0].Watches("monitoring") || !tr.Monitors[1].Watches("any") {
		t.Errorf("monitors %+v, want %+v", tr.Monitors, monitors)
	}
	calls := []APIServerCall{{Caller: "ValidatingWebhookConfiguration gatekeeper", Namespace: "gatekeeper-system", Service: "gatekeeper-webhook-service", Port: 443},
		{Caller: "APIService v1beta1.metrics.k8s.io", Namespace: "kube-system", Service: "metrics-server", Port: 8443}}
	if !slices.Equal(tr.APIServerCalls, calls) {
		t.Errorf("the Services the API server calls: %+v, want %+v", tr.APIServerCalls, calls)
	}
	want := []Route{{Kind: "HTTPRoute", Name: "web", Parents: []string{"Gateway infra/public"}, Backends: []Backend{{Service: "web", Port: 80}}}}
	s, err := r.Snapshot(context.Background(), cluster, webDeployment(t))
	if err != nil {
		t.Fatal(err)
	}
	if !equalRoutes(s.Routes, want) || !slices.Equal(s.RoutesUnknown, []string{"TLSRoute"}) {
		t.Errorf("snapshot routes %+v, unknown %v; want %+v, [TLSRoute]", s.Routes, s.RoutesUnknown, want)
	}
	var audited []*Snapshot
	err = r.EachNamespace(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}}, func(inv *Inventory) error {
		audited = append(audited, inv.Snapshots(cluster)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(audited) != 1 || !equalRoutes(audited[0].Routes, want) || !slices.Equal(audited[0].RoutesUnknown, []string{"TLSRoute"}) {
		t.Errorf("audit snapshots: %d, routes %+v", len(audited), audited)
	}
}
