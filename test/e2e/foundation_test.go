package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// The cluster really schedules and runs pods: a 3-replica Deployment rolls
// out on kwok nodes, with every pod Ready on a zoned node.
func TestDeploymentPodsScheduledAndReady(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/deploy-3.yaml")
	waitRollout(t, ns, "deploy/three")
	pods, err := env.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=three"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("got %d pods, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		if ready, _ := inspect.PodReady(&p); !ready || p.Spec.NodeName == "" {
			t.Errorf("pod %s: ready=%v node=%q", p.Name, ready, p.Spec.NodeName)
		}
		node, err := env.client.CoreV1().Nodes().Get(context.Background(), p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if node.Labels[inspect.ZoneLabel] == "" {
			t.Errorf("node %s has no zone label", node.Name)
		}
	}
}

// Real kubectl finds the plugin on PATH: `kubectl harden version`.
func TestKubectlPluginDiscovery(t *testing.T) {
	out := kubectl(t, "harden", "version", "-o", "json")
	var info struct{ Version, Commit, GoVersion string }
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	if info.Version == "" || info.GoVersion == "" {
		t.Errorf("incomplete version info: %+v", info)
	}
	if plugins := kubectl(t, "plugin", "list", "--name-only"); !strings.Contains(plugins, "kubectl-harden") {
		t.Errorf("kubectl plugin list does not show kubectl-harden:\n%s", plugins)
	}
	help := kubectl(t, "harden", "--help")
	for _, want := range []string{"kubectl harden [(TYPE", "kubectl harden deploy/web -n demo", "--context", "--namespace", "--kubeconfig"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

// Bad input: one clear error line on stderr, nothing on stdout, exit 2.
func TestBadInputOneErrorLine(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/deploy-3.yaml")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown resource", nil, []string{"frobnicators/x", "-n", ns}, `the server doesn't have a resource type "frobnicators"`},
		{"missing object", nil, []string{"deploy/nope", "-n", ns}, `deployments.apps "nope" not found`},
		{"wrong namespace", nil, []string{"deploy/three", "-n", "no-such-ns"}, `namespaces "no-such-ns" not found`},
		{"other namespace", nil, []string{"deploy/three", "-n", "default"}, `deployments.apps "three" not found`},
		{"not a workload", nil, []string{"svc/three", "-n", ns}, "kubectl harden works on deployments"},
		{"no target", nil, []string{"-n", ns}, "name a workload"},
		{"unreachable server", nil, []string{"deploy/three", "-n", ns, "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}, "cannot reach the Kubernetes API server at https://127.0.0.1:1: connection refused"},
		{"no kubeconfig", []string{"KUBECONFIG=/nonexistent/kubeconfig", "HOME=/nonexistent"}, []string{"deploy/three", "-n", ns}, "no kubeconfig found"},
		{"forbidden", nil, []string{"deploy/three", "-n", ns, "--context", "harden-limited"}, `User "limited" cannot get resource "deployments"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, tc.env, "kubectl-harden", tc.args...)
			if r.code != 2 {
				t.Errorf("exit code %d, want 2\n%s", r.code, r)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr should be one line 'error: …%s…'\n%s", tc.want, r)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty\n%s", r)
			}
		})
	}
}

// kubectl harden deploy/x prints what it read from the live cluster.
func TestInspectShowsLiveState(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/deploy-3.yaml")
	waitRollout(t, ns, "deploy/three")
	pods, err := env.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=three"})
	if err != nil {
		t.Fatal(err)
	}
	r := harden(t, "deploy/three", "-n", ns)
	if r.code != 1 { // findings remain
		t.Fatalf("harden: %s", r)
	}
	for _, want := range []string{"deployment/three in namespace " + ns, "3 desired, 3 ready", "services         three", "cluster zones: zone-a, zone-b, zone-c"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, p := range pods.Items {
		if !strings.Contains(r.stdout, p.Name) || !strings.Contains(r.stdout, p.Spec.NodeName) {
			t.Errorf("output lacks live pod %s on %s:\n%s", p.Name, p.Spec.NodeName, r.stdout)
		}
	}
	// The same through -f and -l.
	// The file holds a Service too: only the workload is inspected.
	if r := harden(t, "-f", env.root+"/testdata/e2e/deploy-3.yaml", "-n", ns); r.code != 1 || !strings.Contains(r.stdout, "deployment/three") || strings.Contains(r.stdout, "service/") {
		t.Errorf("-f deploy-3.yaml:\n%s", r)
	}
	if r := harden(t, "deploy", "-l", "app=three", "-n", ns); r.code != 1 || !strings.Contains(r.stdout, "deployment/three") {
		t.Errorf("-l app=three:\n%s", r)
	}
}

// `kubectl harden <TAB>` completes workloads from the live cluster, both
// through the plugin and through kubectl's plugin completion shim.
func TestCompletionFromLiveCluster(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/deploy-3.yaml")
	r := harden(t, "__complete", "-n", ns, "deploy/")
	if r.code != 0 || !strings.Contains(r.stdout, "deploy/three\n") {
		t.Errorf("plugin completion of deploy/:\n%s", r)
	}
	r = harden(t, "__complete", "-n", ns, "")
	if !strings.Contains(r.stdout, "deployments\n") || !strings.Contains(r.stdout, "cronjobs\n") {
		t.Errorf("plugin completion of types:\n%s", r)
	}
	out := kubectl(t, "__complete", "harden", "-n", ns, "deployment", "")
	if !strings.Contains(out, "three\n") {
		t.Errorf("kubectl completion through kubectl_complete-harden:\n%s", out)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := harden(t, "completion", shell); r.code != 0 || !strings.Contains(r.stdout, "kubectl-harden") {
			t.Errorf("completion %s:\n%s", shell, r)
		}
	}
}
