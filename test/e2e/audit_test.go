package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-harden/kubectl-harden/pkg/audit"
	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

// countingTransport counts the requests that reach the API server.
type countingTransport struct {
	next  http.RoundTripper
	count atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.count.Add(1)
	return c.next.RoundTrip(r)
}

func makeDeployments(t *testing.T, ns string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		name := fmt.Sprintf("w%03d", i)
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0"}}}}}}
		if _, err := env.client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// The audit reads with a constant number of requests, whatever the number
// of workloads: one paginated LIST per kind, never a GET per workload.
func TestAuditRequestCountConstant(t *testing.T) {
	ns := newNamespace(t)
	count := func() (int64, int) {
		cfg := restConfig(t)
		ct := &countingTransport{}
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct }
		r := &inspect.Reader{Client: kubernetes.NewForConfigOrDie(cfg)}
		ctx := context.Background()
		cluster, err := r.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true}
		inv, err := r.Inventory(ctx, inspect.Scope{Namespace: ns, Kinds: kinds, ChunkSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Run(ctx, inv.Snapshots(cluster), inv.NamespaceSnapshots(), rules.Selection{})
		if err != nil {
			t.Fatal(err)
		}
		return ct.count.Load(), rep.Workloads
	}
	makeDeployments(t, ns, 0, 3)
	small, n := count()
	if n != 3 {
		t.Fatalf("%d workloads audited, want 3", n)
	}
	makeDeployments(t, ns, 3, 60)
	large, n := count()
	if n != 60 {
		t.Fatalf("%d workloads audited, want 60", n)
	}
	if small != large {
		t.Errorf("requests grow with the workloads: %d for 3, %d for 60", small, large)
	}
	t.Logf("%d requests for 3 and for 60 workloads", large)
}

// The audit of the demo shop, in table and JSON, with CI gates.
func TestAuditDemoShop(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	applyFile(t, ns, "testdata/e2e/cronjob.yaml")
	kubectl(t, "run", "debug", "-n", ns, "--image=busybox:1.36", "--restart=Never")
	waitRollout(t, ns, "deploy/pair")
	r := harden(t, "audit", "-n", ns)
	for _, want := range []string{"NAMESPACE", "deployment/pair", "cronjob/nightly", "namespace " + ns + ": score", "bare-pods: pod debug has no controller",
		"default-deny", "pod-security-labels: no pod-security.kubernetes.io/enforce label: the namespace admits privileged pods, while all its pods and pod templates already satisfy baseline (verified: the API server's dry-run of the label raises no warning)", "score "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit table lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("findings pending: exit %d, want 1", r.code)
	}
	r = harden(t, "audit", "-n", ns, "-o", "json")
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Kind != "AuditReport" || rep.Workloads != 2 || len(rep.Namespaces) != 1 || rep.Score <= 0 || rep.Score >= 100 {
		t.Fatalf("json: %v %+v", err, rep)
	}
	if r := harden(t, "audit", "-n", ns, "--fail-on=critical"); r.code != 0 {
		t.Errorf("--fail-on=critical with no critical finding: exit %d", r.code)
	}
	if r := harden(t, "audit", "-n", ns, "--fail-on=high"); r.code != 1 {
		t.Errorf("--fail-on=high: exit %d", r.code)
	}
	if r := harden(t, "audit", "-n", ns, "--min-score=1"); r.code != 0 {
		t.Errorf("--min-score=1: exit %d", r.code)
	}
	if r := harden(t, "audit", "-n", ns, "--min-score=100"); r.code != 1 {
		t.Errorf("--min-score=100: exit %d", r.code)
	}
	oneErrorLine(t, harden(t, "audit", "-n", ns, "--fail-on=urgent"), `unknown severity "urgent"`)
	// -A sees this namespace too.
	r = harden(t, "audit", "-A", "-o", "json")
	if !strings.Contains(r.stdout, `"name": "`+ns+`"`) {
		t.Errorf("-A misses %s", ns)
	}
}
