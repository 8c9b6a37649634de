package networkpolicy

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "the Services' ports from the namespace", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-served.yaml",
			Findings: []string{"no NetworkPolicy selects the pods"}},
		{Name: "allow-from and DNS-only egress", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-allow-from.yaml",
			Findings: []string{"no NetworkPolicy"}, Params: rules.Params{"allow-from": "ingress-nginx", "egress": "dns-only"}},
		{Name: "no Service: a human names the ports", Failure: "testdata/failure-unserved.yaml",
			Findings: []string{"no NetworkPolicy"}, NeedsHuman: []string{"--set network-policy.ports="}},
		{Name: "ports parameter", Failure: "testdata/failure-unserved.yaml", Fixed: "testdata/fixed-ports.yaml",
			Findings: []string{"no NetworkPolicy"}, Params: rules.Params{"ports": "8080"}},
		{Name: "a selecting policy passes", Failure: "testdata/pass.yaml"},
		{Name: "NodePort: its port from anywhere", Failure: "testdata/failure-nodeport.yaml", Fixed: "testdata/fixed-nodeport.yaml",
			Findings: []string{"no NetworkPolicy"}},
		{Name: "LoadBalancer: its port from anywhere, a ClusterIP-only port from the namespace", Failure: "testdata/failure-loadbalancer.yaml",
			Fixed: "testdata/fixed-loadbalancer.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "Ingress backend: from the controller's namespace", Failure: "testdata/failure-ingress-known.yaml",
			Fixed: "testdata/fixed-ingress-known.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "Ingress backend: unknown controller, from anywhere", Failure: "testdata/failure-ingress-unknown.yaml",
			Fixed: "testdata/fixed-ingress-unknown.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "ingress-from names the controller's namespace", Failure: "testdata/failure-ingress-unknown.yaml",
			Fixed: "testdata/fixed-ingress-from.yaml", Findings: []string{"no NetworkPolicy"}, Params: rules.Params{"ingress-from": "alb-proxies"}},
		{Name: "HTTPRoute backend: from the Gateway's and its controller's namespaces", Failure: "testdata/failure-httproute.yaml",
			Fixed: "testdata/fixed-httproute.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "peer ports from the pods themselves", Failure: "testdata/failure-peers.yaml", Fixed: "testdata/fixed-peers.yaml",
			Findings: []string{"no NetworkPolicy"}},
		{Name: "metrics ports from the monitoring namespace", Failure: "testdata/failure-metrics.yaml", Fixed: "testdata/fixed-metrics.yaml",
			Findings: []string{"no NetworkPolicy"}},
		{Name: "metrics ports, no monitoring namespace: from every namespace", Failure: "testdata/failure-metrics-unmonitored.yaml",
			Fixed: "testdata/fixed-metrics-unmonitored.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "headless Service without ports: the declared ports from the namespace", Failure: "testdata/failure-headless-portless.yaml",
			Fixed: "testdata/fixed-headless-portless.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "headless Service without ports, no declared port: a human names the ports", Failure: "testdata/failure-headless-undeclared.yaml",
			Findings: []string{"no NetworkPolicy"}, NeedsHuman: []string{"Service worker is headless and lists no ports, and the containers declare none: say which ports to admit with --set network-policy.ports="}},
		{Name: "admission webhook: the API server's calls from anywhere", Failure: "testdata/failure-webhook.yaml",
			Fixed: "testdata/fixed-webhook.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "ServiceMonitor and PodMonitor ports from the monitoring namespace", Failure: "testdata/failure-servicemonitor.yaml",
			Fixed: "testdata/fixed-servicemonitor.yaml", Findings: []string{"no NetworkPolicy"}},
		{Name: "hostNetwork: report only", Failure: "testdata/failure-hostnetwork.yaml",
			Findings: []string{"the pods use hostNetwork"}, NeedsHuman: []string{"most network plugins do not enforce NetworkPolicies on host-network pods"}},
	})
}

// The fix says what it admits, from where and why, and warns of what it
// cannot know.
func TestFixSaysWhatItAdmits(t *testing.T) {
	for _, tc := range []struct {
		name, failure string
		params        rules.Params
		description   []string
		warnings      []string // substrings, one per warning, in order
	}{
		{name: "NodePort", failure: "testdata/failure-nodeport.yaml",
			description: []string{"create NetworkPolicy frontend admitting TCP 80 from anywhere (Service frontend is NodePort)"}},
		{name: "LoadBalancer", failure: "testdata/failure-loadbalancer.yaml",
			description: []string{"TCP 8080 from anywhere (Service frontend-external is LoadBalancer)",
				"TCP 9555 (admin) from this namespace (Service frontend)"},
			warnings: []string{"clients in other namespaces cannot be seen"}},
		{name: "Ingress, controller known", failure: "testdata/failure-ingress-known.yaml",
			description: []string{"TCP 8080 (http) from this namespace (Service web)",
				"TCP 8080 (http) from namespace ingress-nginx (Ingress web (class nginx, controller k8s.io/ingress-nginx))"},
			warnings: []string{"the usual namespace of its controller (found by name, not by its pods): if the proxies run elsewhere, name their namespace with --set network-policy.ingress-from=NAMESPACE; a controller whose pods use hostNetwork sends from node addresses", "clients in other namespaces"}},
		{name: "Ingress, ingress-from given", failure: "testdata/failure-ingress-unknown.yaml", params: rules.Params{"ingress-from": "alb-proxies"},
			description: []string{"from namespace alb-proxies"},
			warnings:    []string{"Ingress web: traffic is admitted from namespace alb-proxies (ingress-from); a controller whose pods use hostNetwork", "clients in other namespaces"}},
		{name: "Ingress, controller unknown", failure: "testdata/failure-ingress-unknown.yaml",
			description: []string{"TCP 8080 (http) from anywhere (Ingress web)"},
			warnings:    []string{"Ingress web: the namespace of controller ingress.k8s.aws/alb (class alb) is not known, so its backends are admitted from anywhere; name the namespace of its proxies with --set network-policy.ingress-from=NAMESPACE"}},
		{name: "peers", failure: "testdata/failure-peers.yaml",
			description: []string{"TCP 9042 from this namespace (Service cassandra); TCP 7000, 7001, 7199 from its own pods (declared containerPorts no Service targets)"},
			warnings:    []string{"clients in other namespaces"}},
		{name: "metrics, monitored", failure: "testdata/failure-metrics.yaml",
			description: []string{"TCP 9090, 9102 from namespace monitoring (metrics)"},
			warnings:    []string{"clients in other namespaces"}},
		{name: "metrics, unmonitored", failure: "testdata/failure-metrics-unmonitored.yaml",
			description: []string{"TCP 9090, 9102 from every namespace (metrics)"},
			warnings: []string{"no monitoring namespace detected (none is named monitoring, prometheus, observability or a platform's), so metrics port 9090, 9102 is admitted from every namespace; name the namespace Prometheus runs in with --set network-policy.monitoring=NAMESPACE",
				"clients in other namespaces"}},
		{name: "metrics, named", failure: "testdata/failure-metrics-unmonitored.yaml", params: rules.Params{"monitoring": "telemetry"},
			description: []string{"TCP 9090, 9102 from namespace telemetry (metrics)"}, warnings: []string{"clients in other namespaces"}},
		{name: "headless, no ports", failure: "testdata/failure-headless-portless.yaml",
			description: []string{"TCP 5432 (pg) from this namespace (Service pg is headless with no ports: its clients connect to the pods' declared ports)"},
			warnings:    []string{"metrics port 9187 is admitted from every namespace", "clients in other namespaces"}},
		{name: "named targetPort nobody declares", failure: "testdata/failure-named-undeclared.yaml",
			description: []string{"TCP http from this namespace (Service web); TCP 8080 from its own pods"},
			warnings: []string{"Service web targets port http, which no container of the pods declares: the Service sends them nothing on it",
				"clients in other namespaces"}},
		{name: "admission webhook", failure: "testdata/failure-webhook.yaml",
			description: []string{"TCP 8443 (webhook-server) from anywhere (ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration: the API server calls Service gatekeeper-webhook-service)",
				"TCP 8888 from namespace monitoring (metrics)", "TCP 9090 from its own pods"},
			warnings: []string{"the API server calls Service gatekeeper-webhook-service (ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration), from an address no policy peer names: its port is admitted from anywhere"}},
		{name: "scrape annotation without a port: every declared TCP port", failure: "testdata/failure-scrape-all-ports.yaml",
			description: []string{"TCP 8080 (http) from this namespace (Service api); TCP 8080 from namespace monitoring (metrics)"},
			warnings:    []string{"clients in other namespaces"}},
		{name: "ServiceMonitor and PodMonitor", failure: "testdata/failure-servicemonitor.yaml",
			description: []string{"TCP 8080 (http) from this namespace (Service api)",
				"TCP 8080 (http) from namespace monitoring (ServiceMonitor monitoring/shop-apis); TCP 9901 (admin) from namespace monitoring (PodMonitor shop/proxies)"},
			warnings: []string{"clients in other namespaces"}},
		{name: "cluster DNS in kube-system: from every namespace", failure: "testdata/failure-cluster-dns.yaml",
			description: []string{"create NetworkPolicy coredns admitting UDP 53, TCP 53, 9153 from every namespace (Service kube-dns)"},
			warnings: []string{"namespace kube-system holds the cluster's shared services (DNS, metrics, webhooks): their clients are in every namespace, " +
				"so the Services' ports are admitted from every namespace; narrow it with --set network-policy.allow-from=NAMESPACE"}},
		{name: "cluster DNS, clients named", failure: "testdata/failure-cluster-dns.yaml", params: rules.Params{"allow-from": "shop"},
			description: []string{"UDP 53, TCP 53, 9153 from this namespace and namespace shop (Service kube-dns)"}},
		{name: "allow-from, egress", failure: "testdata/failure-peers.yaml", params: rules.Params{"allow-from": "app1,app2", "egress": "dns-only"},
			description: []string{"TCP 9042 from this namespace and namespaces app1, app2 (Service cassandra)"},
			warnings:    []string{"egress is restricted to DNS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := rulestest.Load(t, tc.failure)
			fix, err := Rule{}.Fix(s, rules.Finding{}, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tc.description {
				if !strings.Contains(fix.Description, d) {
					t.Errorf("description %q does not say %q", fix.Description, d)
				}
			}
			if len(fix.Warnings) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %d", fix.Warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(fix.Warnings[i], w) {
					t.Errorf("warning %q does not say %q", fix.Warnings[i], w)
				}
			}
		})
	}
}

// A namespace-scoped user may not list namespaces or IngressClasses:
// nothing is known of the controllers or of Prometheus, and the fix
// admits more, never less.
func TestUnknownClusterAdmitsMore(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-ingress-known.yaml")
	s.Cluster.Traffic.Namespaces, s.Cluster.Traffic.IngressClasses = nil, nil
	fix, err := Rule{}.Fix(s, rules.Finding{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "TCP 8080 (http) from anywhere (Ingress web)"; !strings.Contains(fix.Description, want) {
		t.Errorf("description %q does not say %q", fix.Description, want)
	}
	if !strings.Contains(strings.Join(fix.Warnings, "\n"), "the cluster's namespaces could not be listed") {
		t.Errorf("warnings %q do not say the namespaces are not known", fix.Warnings)
	}
	s.RoutesUnknown = []string{"Ingress"}
	if fix, err = (Rule{}).Fix(s, rules.Finding{}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(fix.Warnings, "\n"), "Ingresses could not be listed (forbidden)") {
		t.Errorf("warnings %q do not say Ingresses could not be listed", fix.Warnings)
	}
	s.Cluster.Traffic.APIServerCalls, s.Cluster.Traffic.Monitors = nil, nil
	if fix, err = (Rule{}).Fix(s, rules.Finding{}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"admission webhook configurations and APIServices could not be listed (forbidden)",
		"ServiceMonitors and PodMonitors could not be listed (forbidden)"} {
		if !strings.Contains(strings.Join(fix.Warnings, "\n"), want) {
			t.Errorf("warnings %q do not say %q", fix.Warnings, want)
		}
	}
}

// Pods scraped on every port (prometheus.io/scrape without a port) keep
// their peer ports open to each other: Cassandra's gossip is scraped too,
// not only scraped.
func TestScrapedPeersStayPeers(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-peers.yaml")
	s.Workload.PodTemplate().Annotations = map[string]string{"prometheus.io/scrape": "true"}
	s.Cluster.Traffic.Namespaces = []string{"db", "monitoring"}
	fix, err := Rule{}.Fix(s, rules.Finding{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TCP 7000, 7001, 7199 from its own pods", "TCP 7000, 7001, 7199, 9042 from namespace monitoring (metrics)"} {
		if !strings.Contains(fix.Description, want) {
			t.Errorf("description %q does not say %q", fix.Description, want)
		}
	}
}
