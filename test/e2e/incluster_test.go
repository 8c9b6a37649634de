package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// The in-cluster package's fixed names (docs/deploy).
const (
	inClusterNS       = "kubectl-harden"
	inClusterSA       = "kubectl-harden"
	inClusterCronJob  = "kubectl-harden-audit"
	inClusterAuditCR  = "kubectl-harden-audit"
	inClusterPublishC = "kubectl-harden-publish"
)

// The continuous audit of docs/deploy, end to end: the kustomize package
// builds and applies as published, its CronJob passes kubectl harden with
// no high or critical finding, and the audit its pod runs — the CronJob's
// own arguments, with nothing but its ServiceAccount's token, no
// kubeconfig — is a full audit (nothing unread) that sees what an admin
// sees. kwok runs no container, so the test runs the binary as the pod
// would rather than waiting for the schedule.
func TestInClusterAudit(t *testing.T) {
	// kustomize loads no file outside docs/deploy: its roles are copies,
	// which must stay the documented (and rbac_test-checked) ones.
	for copied, doc := range map[string]string{"audit-clusterrole.yaml": "harden-audit.yaml", "publish-clusterrole.yaml": "harden-publish.yaml"} {
		want, err := os.ReadFile(filepath.Join(env.root, "docs/rbac", doc))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(env.root, "docs/deploy", copied)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("docs/deploy/%s differs from docs/rbac/%s (cp docs/rbac/%s docs/deploy/%s): %v", copied, doc, doc, copied, err)
		}
	}

	built := kubectl(t, "kustomize", filepath.Join(env.root, "docs/deploy"))
	cj := builtCronJob(t, built)

	shop := newNamespace(t)
	applyDemoShop(t, shop)
	waitShop(t, shop)

	// The CronJob publishes PolicyReports: the CRD as Kyverno ships it.
	installCRDs(t, policyReportCRDs...)
	installInCluster(t)
	r := runCmd(t, nil, "kubectl", "apply", "-k", filepath.Join(env.root, "docs/deploy"))
	if r.code != 0 {
		t.Fatalf("kubectl apply -k docs/deploy: %s", r)
	}
	// The namespace warns on (and enforces) the restricted Pod Security
	// level: the CronJob's pod template raises no warning.
	if strings.Contains(r.stderr, "PodSecurity") {
		t.Errorf("the CronJob's pod template violates the restricted level:\n%s", r.stderr)
	}

	// Our own audit of our own CronJob.
	doc, _ := hardenReport(t, "cronjob/"+inClusterCronJob, "-n", inClusterNS)
	if len(doc.Workloads) != 1 {
		t.Fatalf("harden cronjob/%s: %d workloads", inClusterCronJob, len(doc.Workloads))
	}
	// No high or critical finding is the least; the package scores 100,
	// its namespace too (quota, limits, default deny, Pod Security labels).
	for _, f := range doc.Workloads[0].Findings {
		if f.Pending() {
			t.Errorf("cronjob/%s: %s finding %s: %s (%s)", inClusterCronJob, f.Severity, f.Rule, f.Message, f.Status)
		}
	}
	if r := harden(t, "audit", "-n", inClusterNS); r.code != 0 || !strings.Contains(r.stdout, "namespace "+inClusterNS+": score 100/100") {
		t.Errorf("audit -n %s: want score 100 and nothing pending:\n%s", inClusterNS, r)
	}

	token := strings.TrimSpace(kubectl(t, "create", "token", inClusterSA, "-n", inClusterNS, "--duration=10m"))
	server, ca := apiServer(t, inClusterNS)
	ways := map[string]func() (result, bool){
		"flags": func() (result, bool) { return auditAsCronJob(t, cj, server, token, ca), true },
		"pod":   func() (result, bool) { return auditInPod(t, cj, server, token, ca) },
	}
	for _, way := range []string{"flags", "pod"} {
		t.Run(way, func(t *testing.T) {
			r, ok := ways[way]()
			if !ok {
				t.Skip("no private mount namespace here (needs root and unshare): the in-cluster config is not exercised")
			}
			checkInClusterAudit(t, r, shop)
		})
	}
}

// checkInClusterAudit checks the audit the CronJob's ServiceAccount ran:
// exit 0, a full audit (nothing unread), each namespace as the admin sees
// it — the demo shop of namespace shop, kubectl-harden, and demo when
// deployed.
func checkInClusterAudit(t *testing.T, r result, shop string) {
	t.Helper()
	// --min-score=0: findings do not fail the Job, as errors do.
	if r.code != 0 {
		t.Fatalf("the CronJob's audit with its ServiceAccount's token: want exit 0:\n%s", r)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, r)
	}
	if len(rep.Unread) != 0 {
		t.Errorf("the ServiceAccount's audit is not full: unread %+v", rep.Unread)
	}
	if rep.Workloads == 0 || rep.Pending.AtLeast(rules.Low) == 0 {
		t.Errorf("the ServiceAccount's audit: %d workloads, %+v pending", rep.Workloads, rep.Pending)
	}
	// What the admin sees of the demo shop (and of demo, when deployed).
	namespaces := []string{shop, inClusterNS}
	if _, err := env.client.CoreV1().Namespaces().Get(context.Background(), "demo", metav1.GetOptions{}); err == nil {
		namespaces = append(namespaces, "demo")
	}
	for _, ns := range namespaces {
		got := auditedNamespace(rep, ns)
		if got == nil {
			t.Errorf("the ServiceAccount's audit -A misses namespace %s", ns)
			continue
		}
		admin := harden(t, "audit", "-n", ns, "-o", "json")
		var want audit.Report
		if err := json.Unmarshal([]byte(admin.stdout), &want); err != nil || len(want.Namespaces) != 1 {
			t.Fatalf("admin's audit -n %s: %v\n%s", ns, err, admin)
		}
		if g, w := workloadSummary(got), workloadSummary(&want.Namespaces[0]); !slices.Equal(g, w) || got.Pending != want.Namespaces[0].Pending {
			t.Errorf("namespace %s: the ServiceAccount sees %v (pending %+v), the admin %v (pending %+v)", ns, g, got.Pending, w, want.Namespaces[0].Pending)
		}
	}
	// --publish wrote the shop's PolicyReport with the ServiceAccount's
	// own rights (kubectl-harden-publish), one fail per pending finding.
	var pr struct {
		Summary struct{ Fail int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(kubectl(t, "get", "policyreports.wgpolicyk8s.io", "harden-"+shop, "-n", shop, "-o", "json")), &pr); err != nil {
		t.Errorf("the CronJob's audit published no PolicyReport in %s: %v", shop, err)
	} else if got := auditedNamespace(rep, shop); got != nil && pr.Summary.Fail != got.Pending.AtLeast(rules.Low) {
		t.Errorf("PolicyReport harden-%s: %d fail results, the audit %d pending findings", shop, pr.Summary.Fail, got.Pending.AtLeast(rules.Low))
	}
	if ns := auditedNamespace(rep, shop); ns != nil && len(ns.Workloads) != 5 {
		t.Errorf("namespace %s: %d workloads audited, want the demo shop's 5", shop, len(ns.Workloads))
	}
}

// cronJobArgs are the arguments of the CronJob's container, as its pod
// runs them (audit --all-namespaces --publish), plus -o json so that the
// test reads what it audited: --publish prints the audit as usual.
func cronJobArgs(t *testing.T, cj *batchv1.CronJob) []string {
	t.Helper()
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--publish") || !slices.Contains(c.Args, "--all-namespaces") || len(c.Args) == 0 || c.Args[0] != "audit" {
		t.Fatalf("the CronJob runs %v, want audit --all-namespaces --publish", c.Args)
	}
	return append(slices.Clone(c.Args), "-o", "json")
}

// auditAsCronJob runs kubectl-harden with the CronJob's arguments,
// authenticated only by --server, --token and --certificate-authority (the
// three things a pod's in-cluster config carries), with no kubeconfig.
func auditAsCronJob(t *testing.T, cj *batchv1.CronJob, server, token, ca string) result {
	t.Helper()
	args := append(cronJobArgs(t, cj), "--server", server, "--token", token, "--certificate-authority", ca)
	return runCmd(t, []string{"KUBECONFIG=" + filepath.Join(t.TempDir(), "nonexistent")}, "kubectl-harden", args...)
}

// auditInPod runs kubectl-harden with the CronJob's arguments and nothing
// else, as in its pod: client-go's in-cluster config (rest.InClusterConfig)
// from KUBERNETES_SERVICE_HOST and _PORT and the ServiceAccount's token,
// ca.crt and namespace at /var/run/secrets/kubernetes.io/serviceaccount —
// mounted on a tmpfs over /run in a private mount namespace (unshare -m,
// root only), which nothing outside the command sees. ok is false when
// this machine cannot do that.
func auditInPod(t *testing.T, cj *batchv1.CronJob, server, token, ca string) (r result, ok bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		return r, false
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return r, false
	}
	if probe := exec.Command("unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/run"); probe.Run() != nil {
		return r, false
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for name, data := range map[string]string{"token": token, "ca.crt": string(caPEM), "namespace": inClusterNS} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := exec.LookPath("kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	script := `mount -t tmpfs tmpfs /run && d=/var/run/secrets/kubernetes.io/serviceaccount && mkdir -p "$d" && cp "$SRC"/token "$SRC"/ca.crt "$SRC"/namespace "$d"/ && exec "$@"`
	args := append([]string{"-m", "--propagation", "private", "sh", "-ec", script, "sh", bin}, cronJobArgs(t, cj)...)
	return runCmd(t, []string{"SRC=" + src, "KUBECONFIG=" + filepath.Join(src, "nonexistent"),
		"KUBERNETES_SERVICE_HOST=" + u.Hostname(), "KUBERNETES_SERVICE_PORT=" + u.Port()}, "unshare", args...), true
}

// builtCronJob finds the CronJob in the built package and checks its
// bounds: one run at a time, history kept, a deadline, and the restricted
// security context.
func builtCronJob(t *testing.T, built string) *batchv1.CronJob {
	t.Helper()
	kinds := map[string]int{}
	var cj *batchv1.CronJob
	for _, d := range strings.Split(built, "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("kubectl kustomize docs/deploy: %v\n%s", err, d)
		}
		kinds[u.GetKind()]++
		if u.GetKind() == "CronJob" {
			cj = &batchv1.CronJob{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, cj); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]int{"Namespace": 1, "ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 2, "NetworkPolicy": 1, "CronJob": 1,
		"ResourceQuota": 1, "LimitRange": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("kubectl kustomize docs/deploy: %d %s, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	if cj == nil || cj.Name != inClusterCronJob {
		t.Fatalf("kubectl kustomize docs/deploy: no CronJob %s", inClusterCronJob)
	}
	s, j := cj.Spec, cj.Spec.JobTemplate.Spec
	pod := j.Template.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent || s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil ||
		j.ActiveDeadlineSeconds == nil || pod.ServiceAccountName != inClusterSA || len(pod.Containers) != 1 {
		t.Errorf("CronJob %s: concurrency %q, history %v/%v, deadline %v, ServiceAccount %q", cj.Name, s.ConcurrencyPolicy,
			s.SuccessfulJobsHistoryLimit, s.FailedJobsHistoryLimit, j.ActiveDeadlineSeconds, pod.ServiceAccountName)
	}
	c := pod.Containers[0]
	sc, psc := c.SecurityContext, pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("CronJob %s: security contexts %+v, %+v", cj.Name, psc, sc)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("CronJob %s: resources %+v", cj.Name, c.Resources)
	}
	return cj
}

// installInCluster makes room for docs/deploy (a namespace left by an
// interrupted run is deleted first) and removes what it creates after the
// test: the namespace, the bindings and the publish role, and the audit
// role unless it was there before or another test applied it since
// (docs/rbac/harden-audit.yaml is theirs too).
func installInCluster(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	core, rbac := env.client.CoreV1(), env.client.RbacV1()
	deleteNamespace := func() error {
		err := core.Namespaces().Delete(ctx, inClusterNS, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := core.Namespaces().Get(ctx, inClusterNS, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
	if err := deleteNamespace(); err != nil {
		t.Fatalf("namespace %s left from an earlier run: %v", inClusterNS, err)
	}
	_, err := rbac.ClusterRoles().Get(ctx, inClusterAuditCR, metav1.GetOptions{})
	auditRoleThere := err == nil
	t.Cleanup(func() {
		if err := deleteNamespace(); err != nil {
			t.Errorf("deleting namespace %s: %v", inClusterNS, err)
		}
		for _, name := range []string{inClusterAuditCR, inClusterPublishC} {
			if err := rbac.ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting ClusterRoleBinding %s: %v", name, err)
			}
		}
		roles := []string{inClusterPublishC}
		// Another test may have applied docs/rbac's role since, which drops
		// the package's label: then it is theirs.
		if r, err := rbac.ClusterRoles().Get(ctx, inClusterAuditCR, metav1.GetOptions{}); err == nil && !auditRoleThere &&
			r.Labels["app.kubernetes.io/name"] == "kubectl-harden" {
			roles = append(roles, inClusterAuditCR)
		}
		for _, name := range roles {
			if err := rbac.ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting ClusterRole %s: %v", name, err)
			}
		}
	})
}

// apiServer returns the local cluster's API server URL (from the test
// kubeconfig) and a file holding the CA bundle a pod of namespace ns
// mounts as ca.crt beside its token: the ConfigMap kube-root-ca.crt that
// the controller manager publishes in every namespace.
func apiServer(t *testing.T, ns string) (server, caFile string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if kctx == nil || cfg.Clusters[kctx.Cluster] == nil {
		t.Fatalf("kubeconfig %s: no cluster for context %q", env.kubeconfig, cfg.CurrentContext)
	}
	var ca string
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := env.client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err == nil {
			ca = cm.Data["ca.crt"]
		}
		return ca != "", nil
	})
	if err != nil {
		t.Fatalf("namespace %s has no ConfigMap kube-root-ca.crt: %v", ns, err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, []byte(ca), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg.Clusters[kctx.Cluster].Server, caFile
}

// auditedNamespace is namespace ns of an audit report, nil when absent.
func auditedNamespace(rep audit.Report, ns string) *audit.Namespace {
	for i := range rep.Namespaces {
		if rep.Namespaces[i].Name == ns {
			return &rep.Namespaces[i]
		}
	}
	return nil
}

// workloadSummary is each workload of a namespace as KIND/NAME score,
// pending findings as RULE:STATUS, in report order.
func workloadSummary(ns *audit.Namespace) []string {
	var out []string
	for _, w := range ns.Workloads {
		var pending []string
		for _, f := range w.Findings {
			if f.Pending() {
				pending = append(pending, f.Rule+":"+string(f.Status))
			}
		}
		out = append(out, w.Kind+"/"+w.Name+" "+strings.Join(pending, ","))
	}
	return out
}
