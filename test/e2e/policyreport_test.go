package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The report CRDs as their projects publish them (see each file's first
// line for its source).
var (
	policyReportCRDs = []string{"test/e2e/testdata/crds/wgpolicyk8s.io_policyreports.yaml", "test/e2e/testdata/crds/wgpolicyk8s.io_clusterpolicyreports.yaml"}
	openReportsCRDs  = []string{"test/e2e/testdata/crds/openreports.io_reports.yaml", "test/e2e/testdata/crds/openreports.io_clusterreports.yaml"}
)

// publishedReport is what the test reads back of a published report.
type publishedReport struct {
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
	} `json:"metadata"`
	Source  string         `json:"source"`
	Summary map[string]int `json:"summary"`
	Results []struct {
		Source     string            `json:"source"`
		Policy     string            `json:"policy"`
		Rule       string            `json:"rule"`
		Result     string            `json:"result"`
		Severity   string            `json:"severity"`
		Category   string            `json:"category"`
		Message    string            `json:"message"`
		Properties map[string]string `json:"properties"`
		Timestamp  struct {
			Seconds int64 `json:"seconds"`
		} `json:"timestamp"`
		Resources []struct {
			Kind, Name, Namespace string
		} `json:"resources"`
	} `json:"results"`
}

// installCRDs applies CRD files as a user does, waits until the API server
// serves them, and deletes them after the test.
func installCRDs(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		kubectl(t, "apply", "-f", filepath.Join(env.root, f))
	}
	t.Cleanup(func() { removeCRDs(t, files...) })
	for _, f := range files {
		kubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "-f", filepath.Join(env.root, f))
	}
}

// removeCRDs deletes CRD files' CRDs and waits until discovery no longer
// lists them.
func removeCRDs(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		runCmd(t, nil, "kubectl", "delete", "--ignore-not-found", "--wait=true", "-f", filepath.Join(env.root, f))
	}
	for _, group := range []string{"wgpolicyk8s.io", "openreports.io"} {
		_ = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			r := runCmd(t, nil, "kubectl", "api-resources", "--api-group="+group, "-o", "name")
			return r.code == 0 && strings.TrimSpace(r.stdout) == "", nil
		})
	}
}

// readReport reads the namespace's one report of this resource back with
// kubectl.
func readReport(t *testing.T, ns, resource string) publishedReport {
	t.Helper()
	var list struct{ Items []publishedReport }
	if err := json.Unmarshal([]byte(kubectl(t, "get", resource, "-n", ns, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d %s in namespace %s, want 1", len(list.Items), resource, ns)
	}
	return list.Items[0]
}

// auditJSON is the pending and exempted findings of `audit -o json`, as
// "rule kind/name: message" lines, sorted.
func auditJSON(t *testing.T, ns string) (pending, exempted []string) {
	t.Helper()
	r := harden(t, "audit", "-n", ns, "-o", "json")
	if r.code > 1 {
		t.Fatalf("audit -o json: %s", r)
	}
	var rep struct {
		Namespaces []struct {
			Name      string
			Findings  []struct{ Rule, Message, Status string }
			Workloads []struct {
				Kind, Name string
				Findings   []struct{ Rule, Message, Status string }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	add := func(what string, fs []struct{ Rule, Message, Status string }) {
		for _, f := range fs {
			line := fmt.Sprintf("%s %s: %s", f.Rule, what, f.Message)
			switch f.Status {
			case "exempted":
				exempted = append(exempted, line)
			case "fixed":
			default:
				pending = append(pending, line)
			}
		}
	}
	for _, n := range rep.Namespaces {
		add("Namespace/"+n.Name, n.Findings)
		for _, w := range n.Workloads {
			add(w.Kind+"/"+w.Name, w.Findings)
		}
	}
	slices.Sort(pending)
	slices.Sort(exempted)
	return pending, exempted
}

// outcomes are the report's results of one outcome, as auditJSON's lines.
func (p publishedReport) outcomes(result string) []string {
	var lines []string
	for _, r := range p.Results {
		if r.Result == result && len(r.Resources) == 1 {
			lines = append(lines, fmt.Sprintf("%s %s/%s: %s", r.Rule, r.Resources[0].Kind, r.Resources[0].Name, r.Message))
		}
	}
	slices.Sort(lines)
	return lines
}

// TestPublishPolicyReport: audit --publish writes the namespace's
// PolicyReport with server-side apply; read back with kubectl it holds
// what audit -o json says; publishing again changes nothing; a fix changes
// it; a user without the publish role is refused up front, with it
// allowed; an emptied namespace's report is emptied; openreports too; and
// without the CRD, one line and exit 2, nothing written.
func TestPublishPolicyReport(t *testing.T) {
	installCRDs(t, policyReportCRDs...)
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	for _, w := range []string{"deploy/web", "deploy/api", "deploy/worker", "sts/db"} {
		waitRollout(t, ns, w)
	}
	name := "harden-" + ns

	// -o policyreport prints what --publish writes, for kubectl apply.
	if r := harden(t, "audit", "-n", ns, "-o", "policyreport"); r.code != 1 || !strings.Contains(r.stdout, "kind: PolicyReport\n") || !strings.Contains(r.stdout, "name: "+name+"\n") {
		t.Fatalf("-o policyreport: %s", r)
	}

	r := harden(t, "audit", "-n", ns, "--publish")
	if r.code != 0 || !strings.Contains(r.stderr, "policyreports.wgpolicyk8s.io/"+name+" published in namespace "+ns+": ") {
		t.Fatalf("audit --publish: %s", r)
	}
	first := readReport(t, ns, "policyreports.wgpolicyk8s.io")
	pending, exempted := auditJSON(t, ns)
	if first.Metadata.Name != name || first.Metadata.Labels["app.kubernetes.io/managed-by"] != "kubectl-harden" {
		t.Errorf("report metadata: %+v", first.Metadata)
	}
	if got := first.outcomes("fail"); !slices.Equal(got, pending) {
		t.Errorf("fail results differ from audit -o json's pending findings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(pending, "\n"))
	}
	if got := first.outcomes("skip"); !slices.Equal(got, exempted) {
		t.Errorf("skip results %v, want the exempted findings %v", got, exempted)
	}
	if s := first.Summary; s["fail"] != len(pending) || s["skip"] != len(exempted) || s["pass"] == 0 || s["pass"]+s["fail"]+s["skip"] != len(first.Results) {
		t.Errorf("summary %v of %d results; %d pending, %d exempted", s, len(first.Results), len(pending), len(exempted))
	}
	for _, res := range first.Results {
		if res.Source != "kubectl-harden" || res.Policy != "kubectl-harden" || res.Timestamp.Seconds == 0 || res.Severity == "" || res.Category == "" {
			t.Fatalf("result %+v", res)
		}
	}

	// Publishing the same audit again is a no-op for the API server.
	r = harden(t, "audit", "-n", ns, "--publish")
	if r.code != 0 || !strings.Contains(r.stderr, name+" unchanged in namespace "+ns) {
		t.Errorf("second publish: %s", r)
	}
	if again := readReport(t, ns, "policyreports.wgpolicyk8s.io"); again.Metadata.ResourceVersion != first.Metadata.ResourceVersion {
		t.Errorf("publishing again changed the report: resourceVersion %s → %s", first.Metadata.ResourceVersion, again.Metadata.ResourceVersion)
	}

	// Fixing one finding changes the report: web's seccomp result passes.
	seccomp := func(p publishedReport) string {
		for _, res := range p.Results {
			if res.Rule == "seccomp" && res.Resources[0].Kind == "Deployment" && res.Resources[0].Name == "web" {
				return res.Result
			}
		}
		return ""
	}
	if got := seccomp(first); got != "fail" {
		t.Fatalf("web's seccomp result before the fix: %q", got)
	}
	if r := harden(t, "deploy/web", "-n", ns, "--fix=seccomp", "--yes"); r.code > 1 {
		t.Fatalf("fixing seccomp: %s", r)
	}
	if r = harden(t, "audit", "-n", ns, "--publish"); r.code != 0 {
		t.Fatalf("publish after the fix: %s", r)
	}
	fixed := readReport(t, ns, "policyreports.wgpolicyk8s.io")
	if seccomp(fixed) != "pass" || fixed.Summary["fail"] != first.Summary["fail"]-1 || fixed.Metadata.ResourceVersion == first.Metadata.ResourceVersion {
		t.Errorf("after fixing web's seccomp: result %q, fail %d (was %d), resourceVersion %s (was %s)",
			seccomp(fixed), fixed.Summary["fail"], first.Summary["fail"], fixed.Metadata.ResourceVersion, first.Metadata.ResourceVersion)
	}

	publishRights(t, ns)

	// A namespace whose workloads are gone: its report is emptied of them.
	kubectl(t, "delete", "-n", ns, "deployments,statefulsets,cronjobs,jobs", "--all", "--wait=true")
	if r = harden(t, "audit", "-n", ns, "--publish"); r.code != 0 {
		t.Fatalf("publish of the emptied namespace: %s", r)
	}
	emptied := readReport(t, ns, "policyreports.wgpolicyk8s.io")
	for _, res := range emptied.Results {
		if res.Resources[0].Kind != "Namespace" {
			t.Errorf("a deleted workload's result stays: %+v", res)
		}
	}
	if emptied.Summary["fail"] >= fixed.Summary["fail"] {
		t.Errorf("emptied namespace's summary %v", emptied.Summary)
	}

	// openreports.io Reports, the same results.
	installCRDs(t, openReportsCRDs...)
	if r = harden(t, "audit", "-n", ns, "--publish=openreports"); r.code != 0 || !strings.Contains(r.stderr, "reports.openreports.io/"+name+" published") {
		t.Fatalf("--publish=openreports: %s", r)
	}
	if open := readReport(t, ns, "reports.openreports.io"); open.Source != "kubectl-harden" || !slices.Equal(open.outcomes("fail"), emptied.outcomes("fail")) {
		t.Errorf("openreports Report: source %q, fails %v, want %v", open.Source, open.outcomes("fail"), emptied.outcomes("fail"))
	}

	// Without the CRDs: one line, exit 2, nothing printed or written.
	removeCRDs(t, append(policyReportCRDs, openReportsCRDs...)...)
	r = harden(t, "audit", "-n", ns, "--publish=policyreport")
	want := "error: PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed: install it with kubectl apply -f https://raw.githubusercontent.com/kyverno/kyverno/v1.19.1/config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml or use -o policyreport\n"
	if r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Errorf("without the CRD: %s\nwant stderr %q", r, want)
	}
	if r = harden(t, "audit", "-n", ns, "--publish"); r.code != 2 || !strings.HasPrefix(r.stderr, "error: neither report CRD is installed: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("--publish without either CRD: %s", r)
	}
}

// publishRights: the user limited with only the audit role is refused
// before anything is read or written, naming the verb; with
// docs/rbac/harden-publish.yaml bound too, the same publish works.
func publishRights(t *testing.T, ns string) {
	t.Helper()
	kubectl(t, "apply", "-f", filepath.Join(env.root, "docs/rbac/harden-audit.yaml"), "-f", filepath.Join(env.root, "docs/rbac/harden-publish.yaml"))
	grant(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: harden-audit, namespace: `+ns+`}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-harden-audit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
`, "list deployments -n "+ns)
	r := harden(t, "audit", "-n", ns, "--publish", "--context", "harden-limited")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "error: cannot list policyreports in namespace "+ns+": the audit's reports could not be published") || r.stdout != "" {
		t.Errorf("publishing without the publish role: %s", r)
	}
	grant(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: harden-publish, namespace: `+ns+`}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubectl-harden-publish}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
`, "patch policyreports.wgpolicyk8s.io -n "+ns)
	if r := harden(t, "audit", "-n", ns, "--publish", "--context", "harden-limited"); r.code != 0 || !strings.Contains(r.stderr, "policyreports.wgpolicyk8s.io/harden-"+ns+" ") {
		t.Errorf("publishing with the publish role: %s", r)
	}
}
