package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/networkpolicy/flowcheck"
)

// The faults and odd inputs an SRE meets, against the do-no-harm fixes of
// issue #14, on the live API server: each manifest is applied as users
// do (kubectl apply -f), and what harden plans or writes is read back.

// applyManifest writes a manifest to a file and applies it with kubectl
// apply -f in the namespace.
func applyManifest(t *testing.T, ns, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-n", ns, "-f", path)
}

// result1 is the one result of a rule in a harden -o json report.
func result1(t *testing.T, args []string, rule string) rules.Result {
	t.Helper()
	doc, r := hardenReport(t, args...)
	got := findings(doc, rule)
	if len(got) != 1 {
		t.Fatalf("harden %v: %d %s findings, want 1: %+v\n%s", args, len(got), rule, got, r)
	}
	return got[0]
}

// A namespace-wide PodDisruptionBudget (policy/v1: selector {} selects
// every pod of the namespace) already covers web's pods. The pdb fix must
// not add a second budget: the eviction API refuses to evict a pod that
// more than one budget selects, and every drain would hang on web.
func TestDoNoHarmFaultsNamespaceWideBudget(t *testing.T) {
	ns := newNamespace(t)
	applyManifest(t, ns, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: registry.example.com/shop/web:1.0}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: everyone}
spec:
  maxUnavailable: 1
  selector: {}
`)
	waitRollout(t, ns, "deploy/web")
	r := harden(t, "deploy/web", "-n", ns, "--fix=pdb", "--yes", "--timeout=60s")
	if r.code > 1 {
		t.Fatalf("harden --fix=pdb: %s", r)
	}
	l, err := env.client.PolicyV1().PodDisruptionBudgets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "everyone" {
		var names []string
		for _, p := range l.Items {
			names = append(names, p.Name)
		}
		t.Errorf("PodDisruptionBudgets after --fix=pdb: %v, want only everyone\n%s", names, r)
	}
	if strings.Contains(r.stdout, "no PodDisruptionBudget") {
		t.Errorf("the namespace-wide budget was not seen:\n%s", r)
	}
}

// deployment/web selects {app: shop}, which deployment/api's pods
// {app: shop, tier: api} also carry (the shop). api's pod holds a
// leader-election Lease and runs as root (the kubelet reports UID 0 for
// its container app, named as web's is). None of that is web's: web's
// replicas are raised, and its unknown user is a guess, not "root today".
// A Lease holderIdentity with a terminal escape, held by web's own pod,
// reaches the needs-human reason escaped.
func TestDoNoHarmFaultsNeighbourPods(t *testing.T) {
	ns := newNamespace(t)
	applyManifest(t, ns, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop, tier: web}}
    spec:
      containers:
      - {name: app, image: registry.example.com/shop/web:1.0, ports: [{name: http, containerPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop, tier: api}}
  template:
    metadata: {labels: {app: shop, tier: api, harden-e2e/uid: "0"}}
    spec:
      containers:
      - {name: app, image: registry.example.com/shop/api:1.0}
`)
	waitRollout(t, ns, "deploy/web")
	waitRollout(t, ns, "deploy/api")
	podOf := func(tier string) string {
		return strings.TrimSpace(kubectl(t, "get", "pods", "-n", ns, "-l", "tier="+tier, "-o", "jsonpath={.items[0].metadata.name}"))
	}
	applyManifest(t, ns, `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: api-lock}
spec:
  holderIdentity: `+podOf("api")+`_5f0c6b2e-8a1d-4c4f-9d7e-0b1a2c3d4e5f
`)
	args := []string{"deploy/web", "-n", ns, "--fix=all"}
	if f := result1(t, args, "replicas"); f.Status != rules.StatusPlanned || strings.Contains(f.Message+f.Reason, "Lease") {
		t.Errorf("web's replicas held back by api's Lease: %s %q %q", f.Status, f.Message, f.Reason)
	}
	if f := result1(t, args, "run-as-non-root"); f.Status != rules.StatusPlanned || strings.Contains(f.Message, "UID 0") {
		t.Errorf("web read api's root user as its own: %s %q %q", f.Status, f.Message, f.Reason)
	}

	// The Lease moves to web's pod, with an escape in its holder: web is
	// now a leader, and the reason shows the escape, never sends it.
	applyManifest(t, ns, `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: api-lock}
spec:
  holderIdentity: "`+podOf("web")+`_\e]0;pwned\a\e[2J"
`)
	r := harden(t, "deploy/web", "-n", ns, "--fix=replicas", "-o", "text")
	if r.code > 1 || !strings.Contains(r.stdout, "holds Lease api-lock") || !strings.Contains(r.stdout, `\x1b]0;pwned\a\x1b[2J`) {
		t.Errorf("web's own Lease, escaped, in the needs-human reason:\n%s", r)
	}
	if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07") {
		t.Errorf("a cluster string's escape reached the terminal: %q", r.stdout)
	}
}

// A StatefulSet behind a headless Service that lists no ports: clients in
// the namespace connect to pg-0.pg:5432 directly. The policy harden writes
// admits them (cyclonus on the policy the API server holds); a workload
// whose headless Service lists no ports and that declares none gets no
// policy at all — it would admit nothing — but a human is asked.
func TestDoNoHarmFaultsHeadlessWithoutPorts(t *testing.T) {
	ns := newNamespace(t)
	applyManifest(t, ns, `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pg}
spec:
  serviceName: pg
  replicas: 2
  selector: {matchLabels: {app: pg}}
  template:
    metadata: {labels: {app: pg}}
    spec:
      containers:
      - {name: pg, image: registry.example.com/shop/pg:16, ports: [{name: pg, containerPort: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: pg}
spec:
  clusterIP: None
  selector: {app: pg}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  replicas: 2
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
      - {name: worker, image: registry.example.com/shop/worker:1.0}
---
apiVersion: v1
kind: Service
metadata: {name: worker}
spec:
  clusterIP: None
  selector: {app: worker}
`)
	waitRollout(t, ns, "sts/pg")
	waitRollout(t, ns, "deploy/worker")
	r := harden(t, "audit", "-n", ns, "--fix=network-policy", "--yes")
	if r.code > 1 || !strings.Contains(r.stdout, "fixed 1,") {
		t.Errorf("audit --fix=network-policy:\n%s", r)
	}
	if f := result1(t, []string{"deploy/worker", "-n", ns, "--fix=network-policy"}, "network-policy"); f.Status != rules.StatusNeedsHuman ||
		!strings.Contains(f.Reason, "Service worker is headless and lists no ports, and the containers declare none: say which ports to admit") {
		t.Errorf("worker: %s %q", f.Status, f.Reason)
	}
	ctx := context.Background()
	if _, err := env.client.NetworkingV1().NetworkPolicies(ns).Get(ctx, "worker", metav1.GetOptions{}); err == nil {
		t.Error("worker got a NetworkPolicy that admits nothing")
	}
	np, err := env.client.NetworkingV1().NetworkPolicies(ns).Get(ctx, "pg", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pg's NetworkPolicy: %v\n%s", err, r)
	}
	sts, err := env.client.AppsV1().StatefulSets(ns).Get(ctx, "pg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pg := flowcheck.PodOf("pg", ns, sts.Spec.Template)
	client := &flowcheck.Pod{Name: "client", Namespace: ns, Labels: map[string]string{"app": "client"}}
	wrong := flowcheck.New([]*networkingv1.NetworkPolicy{np}).Check(
		[]flowcheck.Flow{{From: client, To: pg, Port: 5432}, {From: pg, To: pg, Port: 5432}},
		[]flowcheck.Flow{{From: flowcheck.Stranger(), To: pg, Port: 5432}, {From: client, To: pg, Port: 22}})
	for _, w := range wrong {
		t.Error(w)
	}
	if len(wrong) > 0 {
		t.Logf("pg's policy: %+v", np.Spec.Ingress)
	}
}

// An admission webhook served by a Deployment of the namespace (a
// ValidatingWebhookConfiguration naming its Service, as Gatekeeper's or
// cert-manager's charts make one): the API server calls it from no pod's
// address, so the policy harden writes admits the webhook's port from
// anywhere — a policy admitting only the namespace would fail every
// admission request the webhook sees. The configuration here matches no
// resource and ignores failures: the shared cluster is not disturbed.
func TestDoNoHarmFaultsAdmissionWebhook(t *testing.T) {
	ns := newNamespace(t)
	applyManifest(t, ns, `apiVersion: apps/v1
kind: Deployment
metadata: {name: policy-webhook}
spec:
  replicas: 2
  selector: {matchLabels: {app: policy-webhook}}
  template:
    metadata: {labels: {app: policy-webhook}}
    spec:
      containers:
      - name: webhook
        image: registry.example.com/platform/policy-webhook:1.0
        ports: [{name: webhook, containerPort: 9443}, {name: probes, containerPort: 8081}]
---
apiVersion: v1
kind: Service
metadata: {name: policy-webhook}
spec:
  selector: {app: policy-webhook}
  ports: [{port: 443, targetPort: webhook}]
`)
	path := filepath.Join(t.TempDir(), "webhook.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: `+ns+`}
webhooks:
- name: validate.`+ns+`.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  rules: [{operations: [CREATE], apiGroups: [example.invalid], apiVersions: [v1], resources: [nothings]}]
  clientConfig:
    service: {namespace: `+ns+`, name: policy-webhook, path: /validate}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	t.Cleanup(func() { runCmd(t, nil, "kubectl", "delete", "--ignore-not-found", "-f", path) })
	waitRollout(t, ns, "deploy/policy-webhook")

	r := harden(t, "deploy/policy-webhook", "-n", ns, "--fix=network-policy", "--yes", "--timeout=60s")
	if r.code > 1 || !strings.Contains(r.stdout, "the API server calls Service policy-webhook") {
		t.Fatalf("harden --fix=network-policy: %s", r)
	}
	ctx := context.Background()
	np, err := env.client.NetworkingV1().NetworkPolicies(ns).Get(ctx, "policy-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the webhook's NetworkPolicy: %v\n%s", err, r)
	}
	d := deployment(t, ns, "policy-webhook")
	webhook := flowcheck.PodOf("policy-webhook", ns, d.Spec.Template)
	wrong := flowcheck.New([]*networkingv1.NetworkPolicy{np}).Check(
		[]flowcheck.Flow{{From: flowcheck.Outside, To: webhook, Port: 9443}}, // the API server
		[]flowcheck.Flow{{From: flowcheck.Stranger(), To: webhook, Port: 8081}})
	for _, w := range wrong {
		t.Errorf("%s; policy %+v", w, np.Spec.Ingress)
	}
}

// A cluster service in a *-system namespace (a DNS server, as CoreDNS in
// kube-system, or a mesh's control plane): its clients are the pods of
// every namespace. Its policy admits its Service ports from every
// namespace — from its own only, the whole cluster would lose it.
func TestDoNoHarmFaultsSharedServiceNamespace(t *testing.T) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ns := createNamespace(t, "dns-"+hex.EncodeToString(b)+"-system")
	applyManifest(t, ns, `apiVersion: apps/v1
kind: Deployment
metadata: {name: resolver}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: resolver}}
  template:
    metadata: {labels: {k8s-app: resolver}}
    spec:
      containers:
      - name: dns
        image: registry.k8s.io/coredns/coredns:v1.11.3
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: resolver}
spec:
  selector: {k8s-app: resolver}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
`)
	waitRollout(t, ns, "deploy/resolver")
	r := harden(t, "deploy/resolver", "-n", ns, "--fix=network-policy", "--yes", "--timeout=60s")
	if r.code > 1 || !strings.Contains(r.stdout, "holds the cluster's shared services") {
		t.Fatalf("harden --fix=network-policy: %s", r)
	}
	np, err := env.client.NetworkingV1().NetworkPolicies(ns).Get(context.Background(), "resolver", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resolver := flowcheck.PodOf("resolver", ns, deployment(t, ns, "resolver").Spec.Template)
	client := flowcheck.Stranger() // any pod of any namespace resolves names
	wrong := flowcheck.New([]*networkingv1.NetworkPolicy{np}).Check(
		[]flowcheck.Flow{{From: client, To: resolver, Port: 53, Protocol: "UDP"}, {From: client, To: resolver, Port: 53}},
		[]flowcheck.Flow{{From: client, To: resolver, Port: 8080}})
	for _, w := range wrong {
		t.Errorf("%s; policy %+v", w, np.Spec.Ingress)
	}
}
