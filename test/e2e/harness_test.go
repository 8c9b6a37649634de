// Package e2e runs kubectl harden against a real local cluster (etcd,
// kube-apiserver, controller manager, scheduler and kwok nodes) started once
// per `go test` run by hack/cluster-up.sh, or one already running.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// env is shared by every test of the run.
var env struct {
	root       string // repository root
	binDir     string // holds the freshly built kubectl-harden, first on PATH
	kubeconfig string
	client     kubernetes.Interface
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		return fail(err)
	}
	env.root = root
	if env.binDir, err = os.MkdirTemp("", "harden-e2e-bin-"); err != nil {
		return fail(err)
	}
	defer os.RemoveAll(env.binDir)
	build := exec.Command("go", "build", "-o", filepath.Join(env.binDir, "kubectl-harden"), "./cmd/kubectl-harden")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fail(fmt.Errorf("building kubectl-harden: %w", err))
	}
	shim, err := os.ReadFile(filepath.Join(root, "kubectl_complete-harden"))
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(env.binDir, "kubectl_complete-harden"), shim, 0o755); err != nil {
		return fail(err)
	}
	os.Setenv("PATH", env.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	clusterDir := filepath.Join(root, ".cluster")
	started := !clusterReady(clusterDir)
	up := exec.Command(filepath.Join(root, "hack", "cluster-up.sh"))
	up.Env = append(os.Environ(), "CLUSTER_DIR="+clusterDir)
	up.Stderr = os.Stderr
	if err := up.Run(); err != nil {
		return fail(fmt.Errorf("starting the local cluster: %w", err))
	}
	if started && os.Getenv("HARDEN_E2E_KEEP_CLUSTER") == "" {
		defer func() {
			down := exec.Command(filepath.Join(root, "hack", "cluster-down.sh"))
			down.Env = append(os.Environ(), "CLUSTER_DIR="+clusterDir)
			down.Stderr = os.Stderr
			_ = down.Run()
		}()
	}
	env.kubeconfig = filepath.Join(clusterDir, "kubeconfig")
	os.Setenv("KUBECONFIG", env.kubeconfig)
	cfg, err := clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		return fail(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	if env.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return fail(err)
	}
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "e2e:", err)
	return 1
}

// clusterReady reports whether a cluster already answers in dir.
func clusterReady(dir string) bool {
	url, err := os.ReadFile(filepath.Join(dir, "apiserver.url"))
	if err != nil {
		return false
	}
	cmd := exec.Command("curl", "-skf", "--max-time", "2", strings.TrimSpace(string(url))+"/readyz")
	return cmd.Run() == nil
}

// newNamespace creates a fresh namespace for one test and deletes it after.
func newNamespace(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-"))
	if len(name) > 40 {
		name = name[:40]
	}
	return createNamespace(t, strings.Trim(name, "-")+"-"+hex.EncodeToString(b))
}

// createNamespace creates this namespace for one test and deletes it after.
func createNamespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	// Pods need the default ServiceAccount, made by the controller manager.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := env.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s has no default ServiceAccount: %v", name, err)
	}
	t.Cleanup(func() {
		err := env.client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// result is what a command printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCmd runs a program with the test's KUBECONFIG and PATH.
func runCmd(t *testing.T, extraEnv []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s %v: %v", name, args, err)
	}
	return r
}

// harden runs the freshly built plugin binary.
func harden(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, nil, "kubectl-harden", args...)
}

// kubectl runs the real kubectl and fails the test if it fails.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := runCmd(t, nil, "kubectl", args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// applyFile applies a testdata manifest (path relative to the repo root)
// into the namespace.
func applyFile(t *testing.T, ns, path string) {
	t.Helper()
	kubectl(t, "apply", "-n", ns, "-f", filepath.Join(env.root, path))
}

// waitRollout waits like `kubectl rollout status` for a workload.
func waitRollout(t *testing.T, ns, ref string) {
	t.Helper()
	kubectl(t, "rollout", "status", "-n", ns, ref, "--timeout=90s")
}

// applyDemoShop deploys testdata/demo/shop.yaml into the test's namespace
// instead of demo.
func applyDemoShop(t *testing.T, ns string) {
	t.Helper()
	shop, err := os.ReadFile(filepath.Join(env.root, "testdata/demo/shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.ReplaceAll(string(shop), "namespace: demo", "namespace: "+ns)
	manifest = strings.Replace(manifest, "name: demo\n", "name: "+ns+"\n", 1)
	path := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
}
