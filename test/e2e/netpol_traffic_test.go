package e2e

import (
	"context"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/plugins/networkpolicy/flowcheck"
)

// The guestbook as published (its frontend behind a NodePort Service),
// given NetworkPolicies by an audit: the policies the API server holds
// afterwards admit every flow the app needs — outside clients to the
// frontend, the frontend to both Redis, the replicas to the master — and
// deny the flows nobody needs, as the cyclonus evaluator reads them.
func TestNetworkPolicyTrafficGuestbook(t *testing.T) {
	ns := newNamespace(t)
	kubectl(t, "apply", "-n", ns, "-f", corpus(t, "guestbook/guestbook-all-in-one.yaml"))
	r := harden(t, "audit", "-n", ns, "--fix=network-policy", "--yes")
	if r.code != 0 {
		t.Fatalf("audit --fix=network-policy: %s", r)
	}
	ctx := context.Background()
	nps, err := env.client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deployments, err := env.client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nps.Items) != len(deployments.Items) || len(nps.Items) != 3 {
		t.Fatalf("%d NetworkPolicies for %d Deployments, want one each:\n%s", len(nps.Items), len(deployments.Items), r)
	}
	pods := map[string]*flowcheck.Pod{}
	for _, d := range deployments.Items {
		pods[d.Name] = flowcheck.PodOf(d.Name, ns, d.Spec.Template)
	}
	pod := func(name string) *flowcheck.Pod {
		p, ok := pods[name]
		if !ok {
			t.Fatalf("the guestbook has no Deployment %s", name)
		}
		return p
	}
	app := flowcheck.Guestbook(pod)
	for i := range nps.Items {
		if by := nps.Items[i].Labels["app.kubernetes.io/managed-by"]; by != "kubectl-harden" {
			t.Errorf("NetworkPolicy %s is labelled managed-by %q", nps.Items[i].Name, by)
		}
	}
	policies := make([]*networkingv1.NetworkPolicy, 0, len(nps.Items))
	for i := range nps.Items {
		policies = append(policies, &nps.Items[i])
	}
	wrong := flowcheck.New(policies).Check(app.Allowed, app.Denied)
	for _, w := range wrong {
		t.Error(w)
	}
	if len(wrong) > 0 {
		t.Logf("policies %s; audit:\n%s", flowcheck.Names(policies), r)
	}
	// The frontend's own pods see outside clients on port 80 only: its
	// policy has exactly one rule, open to every address on TCP 80.
	for _, np := range nps.Items {
		if np.Name != "frontend" {
			continue
		}
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 0 || len(np.Spec.Ingress[0].Ports) != 1 ||
			np.Spec.Ingress[0].Ports[0].Port.IntValue() != 80 {
			t.Errorf("frontend's policy admits %+v, want TCP 80 from anywhere (Service frontend is NodePort)", np.Spec.Ingress)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "needs-human") {
		t.Errorf("a guestbook workload's NetworkPolicy was left to a human:\n%s", r)
	}
}
