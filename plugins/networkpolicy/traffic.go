package networkpolicy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// origin is a kind of traffic source. Its order is the order of the
// policy's ingress rules.
type origin int

const (
	fromAnywhere       origin = iota // every address: outside clients
	fromNamespace                    // the workload's namespace (and allow-from)
	fromNamespaces                   // named namespaces: controllers, monitoring
	fromEveryNamespace               // every pod of the cluster
	fromOwnPods                      // the workload's own pods: peers
)

// breadth orders how much an origin admits: a port admitted from a
// broader origin needs no narrower rule.
func (o origin) breadth() int {
	switch o {
	case fromAnywhere:
		return 2
	case fromEveryNamespace:
		return 1
	}
	return 0
}

// source is where one admission comes from.
type source struct {
	origin     origin
	namespaces []string // fromNamespaces: the names; fromNamespace: allow-from
}

func (s source) key() string { return fmt.Sprint(s.origin, s.namespaces) }

// text says where from, for the fix's description.
func (s source) text() string {
	switch s.origin {
	case fromAnywhere:
		return "from anywhere"
	case fromNamespace:
		if len(s.namespaces) > 0 {
			return "from this namespace and " + namespaceList(s.namespaces)
		}
		return "from this namespace"
	case fromNamespaces:
		return "from " + namespaceList(s.namespaces)
	case fromEveryNamespace:
		return "from every namespace"
	default:
		return "from its own pods"
	}
}

func namespaceList(names []string) string {
	if len(names) == 1 {
		return "namespace " + names[0]
	}
	return "namespaces " + strings.Join(names, ", ")
}

// peers are the source as NetworkPolicyPeers; nil for anywhere (a rule
// with ports and no from). sel is the policy's own pod selector.
func (s source) peers(sel any) []any {
	byName := func(names []string) map[string]any {
		return map[string]any{"namespaceSelector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": anys(names)}}}}
	}
	switch s.origin {
	case fromAnywhere:
		return nil
	case fromNamespace:
		out := []any{map[string]any{"podSelector": map[string]any{}}}
		if len(s.namespaces) > 0 {
			out = append(out, byName(s.namespaces))
		}
		return out
	case fromNamespaces:
		return []any{byName(s.namespaces)}
	case fromEveryNamespace:
		return []any{map[string]any{"namespaceSelector": map[string]any{}}}
	default:
		return []any{map[string]any{"podSelector": sel}}
	}
}

func anys(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// port is a pod port: a number, or a containerPort's name.
type port struct {
	protocol corev1.Protocol
	value    intstr.IntOrString
	number   int32 // the number a name resolves to in the pod template; 0 if it does not
}

// key identifies the port whichever way it is named.
func (p port) key() string {
	if p.number != 0 {
		return fmt.Sprint(p.protocol, p.number)
	}
	return fmt.Sprint(p.protocol, p.value.String())
}

func (p port) text() string {
	if p.value.Type == intstr.String && p.number != 0 {
		return fmt.Sprintf("%d (%s)", p.number, p.value.StrVal)
	}
	return p.value.String()
}

// policyPort is the port as a NetworkPolicyPort.
func (p port) policyPort() map[string]any {
	var v any = int64(p.value.IntVal)
	if p.value.Type == intstr.String {
		v = p.value.StrVal
	}
	return map[string]any{"protocol": string(p.protocol), "port": v}
}

// admission admits one port from one source, for a reason.
type admission struct {
	source source
	port   port
	why    string
}

// traffic is what the policy admits and what it cannot know.
type traffic struct {
	admissions []admission
	// kept are the admissions the rules keep (no broader one admits the
	// port), set by rules.
	kept     []admission
	warnings []string
	// shared is the namespace when it holds the cluster's shared services
	// (sharedServices): Service ports are admitted from every namespace.
	shared string
}

func (t *traffic) admit(src source, p port, why string) {
	t.admissions = append(t.admissions, admission{src, p, why})
}

func (t *traffic) warn(format string, a ...any) {
	w := fmt.Sprintf(format, a...)
	if !slices.Contains(t.warnings, w) {
		t.warnings = append(t.warnings, w)
	}
}

// containerPorts are the ports the pod template's containers declare
// (restartable init containers, the sidecars, included).
func containerPorts(s *inspect.Snapshot) []corev1.ContainerPort {
	spec := s.Workload.PodTemplate().Spec
	var out []corev1.ContainerPort
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, c.Ports...)
		}
	}
	for _, c := range spec.Containers {
		out = append(out, c.Ports...)
	}
	for i := range out {
		if out[i].Protocol == "" {
			out[i].Protocol = corev1.ProtocolTCP
		}
	}
	return out
}

// resolve makes a port of a Service's targetPort (empty: the Service
// port's number, as the API server defaults it).
func resolve(declared []corev1.ContainerPort, protocol corev1.Protocol, target intstr.IntOrString, servicePort int32) port {
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	if target.Type == intstr.Int && target.IntVal == 0 {
		target = intstr.FromInt32(servicePort)
	}
	p := port{protocol: protocol, value: target, number: target.IntVal}
	if target.Type == intstr.String {
		p.number = 0
		for _, cp := range declared {
			if cp.Name == target.StrVal && cp.Protocol == protocol {
				p.number = cp.ContainerPort
			}
		}
	}
	return p
}

// servicePorts are the pod ports a Service sends to: those of its ports
// matching the backend (number or name; every port when neither is set).
func servicePorts(declared []corev1.ContainerPort, svc *corev1.Service, b inspect.Backend) []port {
	var out []port
	for _, sp := range svc.Spec.Ports {
		if (b.Port != 0 && sp.Port != b.Port) || (b.PortName != "" && sp.Name != b.PortName) {
			continue
		}
		out = append(out, resolve(declared, sp.Protocol, sp.TargetPort, sp.Port))
	}
	return out
}

// exposure says why a Service is reachable from outside the cluster, ""
// when it is not.
func exposure(svc *corev1.Service) string {
	switch {
	case svc.Spec.Type == corev1.ServiceTypeLoadBalancer:
		return "is LoadBalancer"
	case svc.Spec.Type == corev1.ServiceTypeNodePort:
		return "is NodePort"
	case len(svc.Spec.ExternalIPs) > 0:
		return "has externalIPs"
	}
	return ""
}

// fromServices admits every Service's target ports: from anywhere for a
// Service reachable from outside the cluster, else from the namespace and
// the allow-from namespaces. A headless Service that lists no ports is
// only a DNS name for the pods: its clients connect to any port, so every
// declared containerPort is admitted from the namespace. A named
// targetPort no container declares is admitted by its name, with a
// warning: the Service sends these pods nothing on it. It returns the
// ports some Service targets.
func (t *traffic) fromServices(s *inspect.Snapshot, declared []corev1.ContainerPort, inNamespace source) map[string]bool {
	targeted := map[string]bool{}
	for i := range s.Services {
		svc := &s.Services[i]
		src, why := inNamespace, "Service "+svc.Name
		if e := exposure(svc); e != "" {
			src, why = source{origin: fromAnywhere}, why+" "+e
		}
		if len(svc.Spec.Ports) == 0 && svc.Spec.ClusterIP == corev1.ClusterIPNone {
			for _, cp := range declared {
				p := port{protocol: cp.Protocol, value: intstr.FromInt32(cp.ContainerPort), number: cp.ContainerPort}
				if cp.Name != "" {
					p.value = intstr.FromString(cp.Name)
				}
				targeted[p.key()] = true
				t.admit(src, p, "Service "+svc.Name+" is headless with no ports: its clients connect to the pods' declared ports")
			}
			continue
		}
		for _, p := range servicePorts(declared, svc, inspect.Backend{}) {
			if p.value.Type == intstr.String && p.number == 0 {
				t.warn("Service %s targets port %s, which no container of the pods declares: the Service sends them nothing on it", svc.Name, p.value.StrVal)
			}
			targeted[p.key()] = true
			t.admit(src, p, why)
		}
	}
	return targeted
}

// warnOtherNamespaces says, when Service ports are kept for this
// namespace only, that clients of other namespaces are not known.
func (t *traffic) warnOtherNamespaces() {
	for _, a := range t.kept {
		if a.source.origin == fromNamespace && len(a.source.namespaces) == 0 && strings.HasPrefix(a.why, "Service ") {
			t.warn("clients in other namespaces cannot be seen from the workload: if pods of another namespace call its Services, name their namespaces with --set %s.allow-from=NAMESPACE", id)
			return
		}
	}
}

// warnShared says, when Service ports are kept from every namespace
// because the namespace holds shared services, why and how to narrow it.
func (t *traffic) warnShared() {
	for _, a := range t.kept {
		if t.shared != "" && a.source.origin == fromEveryNamespace && strings.HasPrefix(a.why, "Service ") {
			t.warn("namespace %s holds the cluster's shared services (DNS, metrics, webhooks): their clients are in every namespace, "+
				"so the Services' ports are admitted from every namespace; narrow it with --set %s.allow-from=NAMESPACE", t.shared, id)
			return
		}
	}
}

// hostNetworkCaveat is said of every namespace a proxy's traffic is
// admitted from.
const hostNetworkCaveat = "a controller whose pods use hostNetwork sends from node addresses instead, which only an ipBlock admits"

// fromRoutes admits the ports of the Services that Ingresses and Gateway
// API routes send to: from their controllers' namespaces when known, else
// from anywhere.
func (t *traffic) fromRoutes(s *inspect.Snapshot, declared []corev1.ContainerPort, p rules.Params) {
	override := names(p["ingress-from"])
	for _, rt := range s.Routes {
		via := rt.Kind + " " + rt.Name
		src := source{origin: fromNamespaces, namespaces: override}
		if len(override) == 0 {
			nss, how := controllerNamespaces(s, rt)
			if len(nss) == 0 {
				src = source{origin: fromAnywhere}
				t.warn("%s: %s, so its backends are admitted from anywhere; name the namespace of its proxies with --set %s.ingress-from=NAMESPACE", via, how, id)
			} else {
				src.namespaces = nss
				via += " (" + how + ")"
				// The namespace is the controller's usual one, found by
				// name: harden cannot list other namespaces' pods cheaply.
				t.warn("%s: traffic is admitted from %s, the usual namespace of its controller (found by name, not by its pods): if the proxies run elsewhere, name their namespace with --set %s.ingress-from=NAMESPACE; %s", via, namespaceList(nss), id, hostNetworkCaveat)
			}
		} else {
			t.warn("%s: traffic is admitted from %s (ingress-from); %s", via, namespaceList(override), hostNetworkCaveat)
		}
		for _, b := range rt.Backends {
			for i := range s.Services {
				if s.Services[i].Name == b.Service {
					for _, pp := range servicePorts(declared, &s.Services[i], b) {
						t.admit(src, pp, via)
					}
				}
			}
		}
	}
	for _, kind := range s.RoutesUnknown {
		t.warn("%s could not be listed (forbidden): clients coming through one are cut off unless a Service above admits them", plural(kind))
	}
}

// fromAPIServer admits from anywhere the ports of the pods' Services that
// the API server itself calls: admission webhooks and aggregated APIs
// (APIServices). The API server is no pod: it calls from a control-plane
// address (or through a managed cluster's tunnel) that no pod or namespace
// selector names, and a webhook it cannot reach fails the admission
// requests it sees (failurePolicy Fail), an APIService its whole API.
// When the calls could not be listed, a warning says so.
func (t *traffic) fromAPIServer(s *inspect.Snapshot, declared []corev1.ContainerPort) {
	calls := s.Cluster.Traffic.APIServerCalls
	if calls == nil {
		t.warn("admission webhook configurations and APIServices could not be listed (forbidden): if the API server calls a Service " +
			"of these pods (an admission webhook, an aggregated API), the policy cuts it off; an admin can tell with kubectl get " +
			"validatingwebhookconfigurations,mutatingwebhookconfigurations,apiservices")
		return
	}
	for _, c := range calls {
		if c.Namespace != s.Workload.Namespace() {
			continue
		}
		for i := range s.Services {
			if s.Services[i].Name != c.Service {
				continue
			}
			for _, p := range servicePorts(declared, &s.Services[i], inspect.Backend{Port: c.Port}) {
				t.admit(source{origin: fromAnywhere}, p, c.Caller+": the API server calls Service "+c.Service)
			}
			t.warn("the API server calls Service %s (%s), from an address no policy peer names: its port is admitted from anywhere", c.Service, c.Caller)
		}
	}
}

// plural names a kind's objects: Ingresses, HTTPRoutes.
func plural(kind string) string {
	if strings.HasSuffix(kind, "s") {
		return kind + "es"
	}
	return kind + "s"
}

// fromHostPorts admits containerPorts published on the node (hostPort)
// from anywhere: clients reach them at the node's address.
func (t *traffic) fromHostPorts(declared []corev1.ContainerPort) {
	for _, cp := range declared {
		if cp.HostPort != 0 {
			t.admit(source{origin: fromAnywhere}, port{protocol: cp.Protocol, value: intstr.FromInt32(cp.ContainerPort), number: cp.ContainerPort},
				fmt.Sprintf("hostPort %d", cp.HostPort))
		}
	}
}

// metricsPorts are the ports Prometheus scrapes: containerPorts named
// *metrics*, and the prometheus.io/port annotation of the pod template or
// of a Service selecting the pods (its endpoints are scraped on the pod).
// prometheus.io/scrape: "true" without a port makes Prometheus's usual
// jobs (kubernetes-pods, kubernetes-service-endpoints of its Helm chart)
// scrape every declared TCP port of the pods, or every target port of the
// Service: those are the second result, ports that may serve other
// clients too (peers: they stay admitted from the pods themselves).
func metricsPorts(s *inspect.Snapshot, declared []corev1.ContainerPort) (metrics, scraped []port) {
	seen := map[string]bool{}
	out := &metrics
	add := func(p port) {
		if !seen[p.key()] {
			seen[p.key()] = true
			*out = append(*out, p)
		}
	}
	for _, cp := range declared {
		if strings.Contains(strings.ToLower(cp.Name), "metrics") {
			add(port{protocol: cp.Protocol, value: intstr.FromInt32(cp.ContainerPort), number: cp.ContainerPort})
		}
	}
	annotated := []map[string]string{s.Workload.PodTemplate().Annotations}
	for _, svc := range s.Services {
		annotated = append(annotated, svc.Annotations)
	}
	for _, a := range annotated {
		if n, err := strconv.ParseInt(a["prometheus.io/port"], 10, 32); err == nil && n > 0 && n < 65536 {
			add(port{protocol: corev1.ProtocolTCP, value: intstr.FromInt32(int32(n)), number: int32(n)})
		}
	}
	out = &scraped
	scrapedWhole := func(a map[string]string) bool {
		return a["prometheus.io/scrape"] == "true" && a["prometheus.io/port"] == ""
	}
	if scrapedWhole(s.Workload.PodTemplate().Annotations) {
		for _, cp := range declared {
			if cp.Protocol == corev1.ProtocolTCP {
				add(port{protocol: cp.Protocol, value: intstr.FromInt32(cp.ContainerPort), number: cp.ContainerPort})
			}
		}
	}
	for i := range s.Services {
		if scrapedWhole(s.Services[i].Annotations) {
			for _, p := range servicePorts(declared, &s.Services[i], inspect.Backend{}) {
				if p.protocol == corev1.ProtocolTCP {
					add(p)
				}
			}
		}
	}
	return metrics, scraped
}

// scrape is a port Prometheus scrapes, and why: "metrics" (a name, an
// annotation) or the monitor naming it, e.g. "ServiceMonitor
// monitoring/shop".
type scrape struct {
	port port
	why  string
}

// scrapes pairs ports with one reason.
func scrapes(ports []port, why string) []scrape {
	out := make([]scrape, len(ports))
	for i, p := range ports {
		out[i] = scrape{p, why}
	}
	return out
}

// fromMonitoring admits the scraped ports from the monitoring namespaces:
// those named by the monitoring parameter, else those detected; when none
// is, from every namespace, and says so.
func (t *traffic) fromMonitoring(s *inspect.Snapshot, scraped []scrape, p rules.Params) {
	if len(scraped) == 0 {
		return
	}
	nss, how := names(p["monitoring"]), ""
	if len(nss) == 0 {
		nss, how = monitoringNamespaces(s.Cluster.Traffic.Namespaces)
	}
	src := source{origin: fromNamespaces, namespaces: nss}
	if len(nss) == 0 {
		src = source{origin: fromEveryNamespace}
		var list []string
		for _, sc := range scraped {
			if !slices.Contains(list, sc.port.text()) {
				list = append(list, sc.port.text())
			}
		}
		t.warn("%s, so metrics port %s is admitted from every namespace; name the namespace Prometheus runs in with --set %s.monitoring=NAMESPACE",
			how, strings.Join(list, ", "), id)
	}
	for _, sc := range scraped {
		t.admit(src, sc.port, sc.why)
	}
}

// monitorScrapes are the pod ports the Prometheus Operator scrapes: those
// of the ServiceMonitors watching the namespace that select one of the
// pods' Services (by the Service's labels; a Service port by name, or a
// pod port), and of the PodMonitors selecting the pods. When the monitors
// could not be listed, a warning says so.
func (t *traffic) monitorScrapes(s *inspect.Snapshot, declared []corev1.ContainerPort) []scrape {
	monitors := s.Cluster.Traffic.Monitors
	if monitors == nil {
		t.warn("ServiceMonitors and PodMonitors could not be listed (forbidden): ports the Prometheus Operator scrapes are admitted " +
			"only as the rest of this policy admits them; name them with --set " + id + ".ports and the monitoring namespace")
		return nil
	}
	var out []scrape
	podPort := func(v intstr.IntOrString) port {
		p := port{protocol: corev1.ProtocolTCP, value: v, number: v.IntVal}
		for _, cp := range declared {
			if v.Type == intstr.String && cp.Name == v.StrVal {
				p.number, p.protocol = cp.ContainerPort, cp.Protocol
			}
		}
		return p
	}
	for _, m := range monitors {
		sel, err := metav1.LabelSelectorAsSelector(&m.Selector)
		if err != nil || !m.Watches(s.Workload.Namespace()) {
			continue
		}
		why := m.Kind + " " + m.Namespace + "/" + m.Name
		if m.Kind == "PodMonitor" {
			if sel.Matches(labels.Set(s.Workload.PodTemplate().Labels)) {
				for _, mp := range m.Ports {
					out = append(out, scrape{podPort(mp.Pod), why})
				}
			}
			continue
		}
		for i := range s.Services {
			if !sel.Matches(labels.Set(s.Services[i].Labels)) {
				continue
			}
			for _, mp := range m.Ports {
				if mp.ServicePort == "" {
					out = append(out, scrape{podPort(mp.Pod), why})
					continue
				}
				for _, p := range servicePorts(declared, &s.Services[i], inspect.Backend{PortName: mp.ServicePort}) {
					out = append(out, scrape{p, why})
				}
			}
		}
	}
	return out
}

// fromPeers admits from the workload's own pods the containerPorts no
// Service targets and that are not metrics ports: the pods' traffic to
// each other (gossip, replication).
func (t *traffic) fromPeers(declared []corev1.ContainerPort, targeted map[string]bool, metrics []port) {
	skip := map[string]bool{}
	for _, m := range metrics {
		skip[m.key()] = true
	}
	for _, cp := range declared {
		p := port{protocol: cp.Protocol, value: intstr.FromInt32(cp.ContainerPort), number: cp.ContainerPort}
		if !targeted[p.key()] && !skip[p.key()] {
			t.admit(source{origin: fromOwnPods}, p, "declared containerPorts no Service targets")
		}
	}
}

// fromParam admits the ports parameter's ports from the namespace.
func (t *traffic) fromParam(v string, inNamespace source) error {
	if v == "" {
		return nil
	}
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("ports: %q is not a port number", f)
		}
		t.admit(inNamespace, port{protocol: corev1.ProtocolTCP, value: intstr.FromInt32(int32(n)), number: int32(n)}, "--set "+id+".ports")
	}
	return nil
}

// names splits a comma-separated list of namespaces.
func names(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// rules turns the admissions into the policy's ingress rules, one per
// source in origin order with its ports in the order admitted, leaving out
// a port a broader source already admits. It also returns the description
// of what is admitted, e.g. "TCP 80 from anywhere (Service web is
// NodePort); TCP 7000, 7001 from its own pods (declared containerPorts no
// Service targets)".
func (t *traffic) rules(sel any) ([]any, string) {
	broadest := map[string]int{}
	for _, a := range t.admissions {
		broadest[a.port.key()] = max(broadest[a.port.key()], a.source.origin.breadth())
	}
	type group struct {
		source source
		kept   []admission
	}
	var groups []*group
	for _, o := range []origin{fromAnywhere, fromNamespace, fromNamespaces, fromEveryNamespace, fromOwnPods} {
		for _, a := range t.admissions {
			if a.source.origin != o || a.source.origin.breadth() < broadest[a.port.key()] {
				continue
			}
			i := slices.IndexFunc(groups, func(g *group) bool { return g.source.key() == a.source.key() })
			if i < 0 {
				groups, i = append(groups, &group{source: a.source}), len(groups)
			}
			groups[i].kept = append(groups[i].kept, a)
		}
	}
	var ingress []any
	var said []string
	for _, g := range groups {
		var ports []any
		var seen []string
		var whys []string
		for _, a := range g.kept {
			if !slices.Contains(seen, a.port.key()) {
				seen = append(seen, a.port.key())
				ports = append(ports, a.port.policyPort())
			}
			if !slices.Contains(whys, a.why) {
				whys = append(whys, a.why)
			}
		}
		rule := map[string]any{"ports": ports}
		if peers := g.source.peers(sel); peers != nil {
			rule["from"] = peers
		}
		ingress = append(ingress, rule)
		for _, why := range whys {
			var ps []port
			for _, a := range g.kept {
				if a.why == why {
					ps = append(ps, a.port)
				}
			}
			said = append(said, fmt.Sprintf("%s %s (%s)", portsText(ps), g.source.text(), why))
		}
		t.kept = append(t.kept, g.kept...)
	}
	return ingress, strings.Join(said, "; ")
}

// portsText lists ports by protocol, e.g. "TCP 7000, 7001, UDP 53".
func portsText(ps []port) string {
	var b strings.Builder
	var last corev1.Protocol
	var seen []string
	for _, p := range ps {
		if slices.Contains(seen, p.key()) {
			continue
		}
		seen = append(seen, p.key())
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if p.protocol != last {
			b.WriteString(string(p.protocol) + " ")
			last = p.protocol
		}
		b.WriteString(p.text())
	}
	return b.String()
}
