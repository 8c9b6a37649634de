package e2e

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/report/sariftest"
)

// The second cluster's names: its admin context, and the context of its
// user with no RBAC rights (hack/cluster-up.sh, HARDEN_CLUSTER_NAME).
const (
	secondContext  = "harden-second"
	limitedContext = "harden-second-limited"
	closedContext  = "unreachable"
)

// startSecondCluster starts a second, independent local cluster (2 kwok
// nodes) in its own directory with hack/cluster-up.sh, stops it in
// t.Cleanup by the PIDs it recorded there (the shared cluster's are
// never touched), and returns its kubeconfig.
func startSecondCluster(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	vars := []string{"CLUSTER_DIR=" + dir, "HARDEN_CLUSTER_NAME=" + secondContext, "HARDEN_CLUSTER_NODES=2", "HARDEN_CLUSTER_PORT_OFFSET=100"}
	script := func(name string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(env.root, "hack", name))
		cmd.Env = append(os.Environ(), vars...)
		return cmd
	}
	// Registered first: a start that fails half-way is stopped too.
	t.Cleanup(func() {
		if out, err := script("cluster-down.sh").CombinedOutput(); err != nil {
			t.Errorf("stopping the second cluster: %v\n%s", err, out)
		}
	})
	start := time.Now()
	if out, err := script("cluster-up.sh").CombinedOutput(); err != nil {
		t.Fatalf("starting the second cluster: %v\n%s", err, out)
	}
	t.Logf("second cluster (2 kwok nodes) started in %s", time.Since(start).Round(100*time.Millisecond))
	return filepath.Join(dir, "kubeconfig")
}

// fleetKubeconfig writes a kubeconfig with the shared cluster's contexts,
// the second cluster's, and one more, closedContext, whose API server is a
// port nobody listens on.
func fleetKubeconfig(t *testing.T, second string) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	for _, path := range []string{env.kubeconfig, second} {
		c, err := clientcmd.LoadFromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.Clusters {
			merged.Clusters[k] = v
		}
		for k, v := range c.AuthInfos {
			merged.AuthInfos[k] = v
		}
		for k, v := range c.Contexts {
			merged.Contexts[k] = v
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	merged.Clusters[closedContext] = &clientcmdapi.Cluster{Server: "https://" + closed, InsecureSkipTLSVerify: true}
	merged.Contexts[closedContext] = &clientcmdapi.Context{Cluster: closedContext, AuthInfo: "admin"}
	merged.CurrentContext = "harden-local"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// A fleet audit of two live clusters, the second's no-rights user and an
// unreachable API server: each cluster's namespace is reported under its
// own cluster in every format, the unreachable and forbidden ones are
// reported and do not stop the others, and the exit status says so.
func TestFleetAudit(t *testing.T) {
	second := startSecondCluster(t)
	ns := newNamespace(t)
	applyDemoShop(t, ns) // web, api, worker… on the shared cluster
	// The same namespace name on the second cluster, with another app:
	// whose workloads are whose shows each report came from its cluster.
	kubectl(t, "--kubeconfig", second, "create", "namespace", ns)
	kubectl(t, "--kubeconfig", second, "apply", "-n", ns, "-f", corpus(t, "guestbook/guestbook-all-in-one.yaml"))
	kc := fleetKubeconfig(t, second)
	fleet := func(args ...string) result {
		t.Helper()
		return runCmd(t, []string{"KUBECONFIG=" + kc}, "kubectl-harden", append([]string{"audit", "-n", ns}, args...)...)
	}
	contexts := strings.Join([]string{"harden-local", secondContext, limitedContext, closedContext}, ",")

	// JSON: an AuditReportList, in the order named.
	r := fleet("--context", contexts, "-o", "json")
	if r.code != 2 {
		t.Fatalf("want exit 2 (two clusters not audited): %s", r)
	}
	var doc report.FleetReport
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if doc.Kind != "AuditReportList" || len(doc.Items) != 4 {
		t.Fatalf("kind %s with %d items", doc.Kind, len(doc.Items))
	}
	workloads := func(it report.FleetItem) []string {
		var names []string
		if it.Report == nil || len(it.Report.Namespaces) != 1 || it.Report.Namespaces[0].Name != ns {
			t.Errorf("%s: not one report of namespace %s: %+v", it.Cluster, ns, it)
			return nil
		}
		for _, w := range it.Report.Namespaces[0].Workloads {
			names = append(names, strings.ToLower(w.Kind)+"/"+w.Name)
		}
		slices.Sort(names)
		return names
	}
	local, sec, limited, closed := doc.Items[0], doc.Items[1], doc.Items[2], doc.Items[3]
	if local.Cluster != "harden-local" || local.Report.Cluster != "harden-local" || !slices.Contains(workloads(local), "deployment/web") || slices.Contains(workloads(local), "deployment/frontend") {
		t.Errorf("harden-local: %v", workloads(local))
	}
	if got := workloads(sec); sec.Report.Cluster != secondContext || !slices.Equal(got, []string{"deployment/frontend", "deployment/redis-master", "deployment/redis-replica"}) {
		t.Errorf("%s: %v", secondContext, got)
	}
	if limited.Cluster != limitedContext || !limited.Failed() || !strings.Contains(limited.Error, "forbidden") {
		t.Errorf("%s: %+v, want a forbidden error", limitedContext, limited)
	}
	if closed.Cluster != closedContext || !closed.Failed() || !strings.Contains(closed.Error, "cannot reach the Kubernetes API server") {
		t.Errorf("%s: %+v, want unreachable", closedContext, closed)
	}
	if s := doc.Summary; s.Clusters != 4 || s.Audited != 2 || !slices.Equal(s.Failed, []string{limitedContext, closedContext}) ||
		s.Workloads != local.Report.Workloads+sec.Report.Workloads {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(r.stderr, "error: cluster "+closedContext+" not audited: cannot reach") {
		t.Errorf("stderr does not name the unreachable cluster:\n%s", r.stderr)
	}

	// Table: CLUSTER first on every row, the cluster named on the
	// namespace and score lines, the failed clusters' lines.
	r = fleet("--context", contexts)
	if r.code != 2 {
		t.Fatalf("table: %s", r)
	}
	lines := strings.Split(r.stdout, "\n")
	if !strings.HasPrefix(lines[0], "CLUSTER ") {
		t.Errorf("header %q", lines[0])
	}
	for _, want := range []string{
		"\nharden-local   " + ns + " ", // tabwriter pads the column to the longest name
		"\n" + secondContext + "  " + ns + "  deployment/",
		"\nnamespace " + ns + " in cluster harden-local: score ",
		"\nnamespace " + ns + " in cluster " + secondContext + ": score ",
		"\ncluster " + closedContext + ": not audited: cannot reach the Kubernetes API server",
		"\ncluster " + limitedContext + ": not audited: ",
		"\nfleet score ",
		" in 2 of 4 clusters: ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}

	// YAML, SARIF, JUnit and Markdown carry the cluster too.
	r = fleet("--context", contexts, "-o", "yaml")
	for _, want := range []string{"kind: AuditReportList", "  cluster: " + secondContext + "\n", "  cluster: " + closedContext + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("yaml lacks %q", want)
		}
	}
	r = fleet("--context", contexts, "-o", "sarif")
	if err := sariftest.Validate([]byte(r.stdout)); err != nil {
		t.Fatalf("invalid SARIF: %v", err)
	}
	var log struct {
		Runs []struct {
			AutomationDetails struct{ ID string }
			Results           []json.RawMessage
			Invocations       []struct{ ExecutionSuccessful bool }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil || len(log.Runs) != 4 {
		t.Fatalf("SARIF: %v, %d runs, want one per cluster (4)", err, len(log.Runs))
	}
	for i, c := range strings.Split(contexts, ",") {
		if log.Runs[i].AutomationDetails.ID != "kubectl-harden/"+c+"/" {
			t.Errorf("run %d: automationDetails.id %q, want cluster %s", i, log.Runs[i].AutomationDetails.ID, c)
		}
	}
	if len(log.Runs[1].Results) == 0 || len(log.Runs[3].Results) != 0 || log.Runs[3].Invocations[0].ExecutionSuccessful {
		t.Errorf("runs: %d results of %s, %d of %s", len(log.Runs[1].Results), secondContext, len(log.Runs[3].Results), closedContext)
	}
	r = fleet("--context", contexts, "-o", "junit")
	var suites report.JUnitSuites
	if err := xml.Unmarshal([]byte(r.stdout), &suites); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range suites.Suites {
		names = append(names, s.Name)
	}
	if want := []string{"harden-local/" + ns, secondContext + "/" + ns, limitedContext, closedContext}; !slices.Equal(names, want) || suites.Errors != 2 {
		t.Errorf("junit suites %v (%d errors), want %v and 2 errors", names, suites.Errors, want)
	}
	r = fleet("--context", contexts, "-o", "markdown")
	for _, want := range []string{"# kubectl harden audit of 4 clusters", "\n## Cluster " + secondContext + "\n", "\n### Namespace " + ns + " — score ", "\n## Cluster " + closedContext + "\n\nNot audited: cannot reach"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}

	// Both clusters read: the usual gate (pending findings: 1), not 2.
	if r = fleet("--context", "harden-local,"+secondContext, "-o", "json"); r.code != 1 {
		t.Errorf("two live clusters: %s", r)
	}
	// One context is kubectl's --context: today's single-cluster report.
	r = fleet("--context", secondContext, "-o", "json")
	var single map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &single); err != nil || single["kind"] != "AuditReport" || single["cluster"] != nil || r.code != 1 {
		t.Errorf("one context: kind %v, cluster %v: %s", single["kind"], single["cluster"], r)
	}
}
