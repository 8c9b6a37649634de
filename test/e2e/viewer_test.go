package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The read-only auditor (issue 15): a user with Kubernetes' built-in view
// ClusterRole gets the full report of what it may read, one unread line
// per read refused, the findings that depend on them marked, and exit 1
// (findings pending), never 2.

// viewerUnreadLines are the text report's lines for what view lacks on
// this cluster (no metrics.k8s.io, Gateway API or Prometheus Operator).
var viewerUnreadLines = []string{
	"zones unknown: nodes cannot be listed (forbidden)",
	"PriorityClasses unknown: priorityclasses cannot be listed (forbidden)",
	"RBAC bindings unknown: clusterrolebindings cannot be listed (forbidden)",
	"RBAC bindings unknown: rolebindings cannot be listed (forbidden)",
	"leader-election Leases unknown: leases cannot be listed (forbidden)",
	"IngressClasses unknown: ingressclasses cannot be listed (forbidden)",
}

// markedRules are the rules whose findings a view user gets marked: their
// evidence (nodes, PriorityClasses, RBAC bindings) is unread.
var markedRules = map[string]string{
	"spread":                "(zones unknown: nodes forbidden)",
	"priority-class":        "(PriorityClasses unknown: priorityclasses forbidden)",
	"service-account-token": "whether a binding grants it rights is unknown",
}

// bindView binds the built-in view ClusterRole (or role) to user as an
// admin would, with kubectl apply -f: cluster-wide when ns is "" (the
// ClusterRoleBinding is deleted after the test), else by a RoleBinding in
// ns. It waits until the API server's authorizer honours it.
func bindView(t *testing.T, user, ns, role string) {
	t.Helper()
	kind, meta := "ClusterRoleBinding", "  name: "+user
	if ns != "" {
		kind, meta = "RoleBinding", "  name: "+user+"\n  namespace: "+ns
	}
	manifest := fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: %s
metadata:
%s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: %s
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: %s
`, kind, meta, role, user)
	path := filepath.Join(t.TempDir(), "binding.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	if ns == "" {
		t.Cleanup(func() { runCmd(t, nil, "kubectl", "delete", "clusterrolebinding", user, "--ignore-not-found") })
	}
	probe := []string{"auth", "can-i", "list", "pods", "--as=" + user}
	if ns != "" {
		probe = append(probe, "-n", ns)
	} else {
		probe = append(probe, "-A")
	}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		return runCmd(t, nil, "kubectl", probe...).code == 0, nil
	})
	if err != nil {
		t.Fatalf("the binding of %s to %s is not honoured", role, user)
	}
}

// shopNamespace deploys the demo shop into a fresh namespace and waits for
// its Deployments and StatefulSet, so that every run below sees the same
// pods.
func shopNamespace(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	for _, ref := range []string{"deployment/web", "deployment/api", "deployment/worker", "statefulset/db"} {
		waitRollout(t, ns, ref)
	}
	return ns
}

// userFor is a made-up user name unique to the test's namespace.
func userFor(ns, role string) string { return "e2e-" + role + "-" + ns }

// jsonWorkload is the part of -o json a test compares.
type jsonWorkload struct {
	Name     string `json:"name"`
	Findings []struct {
		Rule    string `json:"rule"`
		Field   string `json:"field"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
	} `json:"findings"`
	Unread []struct {
		Resource, Verb, Reason string
	} `json:"unread"`
}

func workloadJSON(t *testing.T, r result) jsonWorkload {
	t.Helper()
	var doc struct {
		Workloads []jsonWorkload `json:"workloads"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Workloads) != 1 {
		t.Fatalf("-o json: %v\n%s", err, r)
	}
	return doc.Workloads[0]
}

// sameButMarked checks the viewer's findings against the admin's: the same
// rule, field, message and status each, except the marked rules', which
// must say what is unknown and need a human. It returns the marked
// findings seen.
func sameButMarked(t *testing.T, what string, admin, viewer jsonWorkload) []string {
	t.Helper()
	key := func(rule, field, msg string) string { return rule + "|" + field + "|" + msg }
	got := map[string]string{}
	var marked []string
	for _, f := range viewer.Findings {
		if note, ok := markedRules[f.Rule]; ok && strings.Contains(f.Message, note) {
			marked = append(marked, f.Rule)
			if f.Status != "needs-human" || f.Reason == "" {
				t.Errorf("%s: marked %s is %s (%q), want needs-human with a reason", what, f.Rule, f.Status, f.Reason)
			}
			continue
		}
		got[key(f.Rule, f.Field, f.Message)] = f.Status
	}
	for _, f := range admin.Findings {
		status, ok := got[key(f.Rule, f.Field, f.Message)]
		switch {
		case ok && status != f.Status:
			t.Errorf("%s: %s %q is %s for the viewer, %s for the admin", what, f.Rule, f.Message, status, f.Status)
		case !ok && !slices.Contains(marked, f.Rule):
			t.Errorf("%s: the viewer lacks %s %q (%s)", what, f.Rule, f.Message, f.Status)
		}
		delete(got, key(f.Rule, f.Field, f.Message))
	}
	for k := range got {
		t.Errorf("%s: the viewer has a finding the admin has not: %s", what, k)
	}
	return marked
}

// A user bound to view cluster-wide: `kubectl harden deploy/x` and `audit
// -n NS` report what it may read, name what it may not, and mark the
// findings that depend on it; everything else is the admin's report.
func TestViewerClusterWide(t *testing.T) {
	ns := shopNamespace(t)
	user := userFor(ns, "view")
	bindView(t, user, "", "view")

	for _, name := range []string{"api", "db"} {
		kind := "deploy/"
		if name == "db" {
			kind = "sts/"
		}
		text := harden(t, kind+name, "-n", ns, "-o", "text", "--as="+user)
		if text.code != 1 || text.stderr != "" {
			t.Fatalf("%s as view: want exit 1 (findings pending) and nothing on stderr:\n%s", name, text)
		}
		for _, l := range viewerUnreadLines {
			if strings.Count(text.stdout, "  unread           "+l+"\n") != 1 {
				t.Errorf("%s: the text report lacks, once, the line %q:\n%s", name, l, text.stdout)
			}
		}
		if !strings.Contains(text.stdout, "  ready by zone    unknown: nodes cannot be listed (forbidden)\n") || strings.Contains(text.stdout, "no zone") ||
			!strings.Contains(text.stdout, "(cluster's classes unknown)") {
			t.Errorf("%s: the summary claims zones or classes it does not know:\n%s", name, text.stdout)
		}
		admin := workloadJSON(t, harden(t, kind+name, "-n", ns, "-o", "json"))
		viewer := workloadJSON(t, harden(t, kind+name, "-n", ns, "-o", "json", "--as="+user))
		if len(admin.Unread) != 0 {
			t.Errorf("%s: the admin has unread %v", name, admin.Unread)
		}
		var unread []string
		for _, u := range viewer.Unread {
			unread = append(unread, u.Verb+" "+u.Resource+" "+u.Reason)
		}
		for _, want := range []string{"list nodes forbidden", "list priorityclasses forbidden", "list clusterrolebindings forbidden", "list rolebindings forbidden"} {
			if !slices.Contains(unread, want) {
				t.Errorf("%s: -o json unread %q lacks %q", name, unread, want)
			}
		}
		marked := sameButMarked(t, name, admin, viewer)
		for _, rule := range []string{"spread", "priority-class", "service-account-token"} {
			if !slices.Contains(marked, rule) {
				t.Errorf("%s: %s is not marked: %v", name, rule, viewer.Findings)
			}
		}
	}

	table := harden(t, "audit", "-n", ns, "--as="+user)
	if table.code != 1 || table.stderr != "" {
		t.Fatalf("audit as view: want exit 1:\n%s", table)
	}
	for _, l := range viewerUnreadLines {
		if n := strings.Count(table.stdout, l); n != 1 {
			t.Errorf("audit table: %q %d times, want once:\n%s", l, n, table.stdout)
		}
	}
	var rep struct {
		Unread []struct{ Resource, Reason string } `json:"unread"`
	}
	js := harden(t, "audit", "-n", ns, "-o", "json", "--as="+user)
	if err := json.Unmarshal([]byte(js.stdout), &rep); err != nil || js.code != 1 {
		t.Fatalf("audit -o json as view: %v\n%s", err, js)
	}
	if i := slices.IndexFunc(rep.Unread, func(u struct{ Resource, Reason string }) bool { return u.Resource == "nodes" }); i < 0 || rep.Unread[i].Reason != "forbidden" {
		t.Errorf("audit -o json unread %+v lacks nodes: forbidden", rep.Unread)
	}
}

// A user bound to view in one namespace only: inspection and audit -n NS
// read it; audit -A says in one line which cluster-wide right it lacks and
// suggests -n.
func TestViewerNamespaceOnly(t *testing.T) {
	ns := shopNamespace(t)
	user := userFor(ns, "nsview")
	bindView(t, user, ns, "view")

	text := harden(t, "deploy/api", "-n", ns, "-o", "text", "--as="+user)
	if text.code != 1 {
		t.Fatalf("deploy/api as namespace view: want exit 1:\n%s", text)
	}
	for _, l := range append(slices.Clone(viewerUnreadLines), "namespaces (ingress controllers, monitoring) unknown: namespaces cannot be listed (forbidden)") {
		if !strings.Contains(text.stdout, "  unread           "+l+"\n") {
			t.Errorf("the text report lacks %q:\n%s", l, text.stdout)
		}
	}
	admin := workloadJSON(t, harden(t, "deploy/api", "-n", ns, "-o", "json"))
	viewer := workloadJSON(t, harden(t, "deploy/api", "-n", ns, "-o", "json", "--as="+user))
	sameButMarked(t, "namespace view", admin, viewer)

	audit := harden(t, "audit", "-n", ns, "--as="+user)
	if audit.code != 1 || !strings.Contains(audit.stdout, "deployment/api") || !strings.Contains(audit.stdout, "zones unknown: nodes cannot be listed (forbidden)") {
		t.Errorf("audit -n %s as namespace view:\n%s", ns, audit)
	}
	all := harden(t, "audit", "-A", "--as="+user)
	oneErrorLine(t, all, "is forbidden (audit -A needs list ", "cluster-wide", "-n NAMESPACE", "docs/rbac/harden-audit.yaml")
	if strings.Count(all.stderr, "\n") != 1 || all.stdout != "" {
		t.Errorf("audit -A: want one line and nothing else:\n%s", all)
	}
}

// docs/rbac/harden-audit.yaml bound cluster-wide is a full audit: no
// unread line, and the admin's findings exactly.
func TestViewerFullAuditRole(t *testing.T) {
	ns := shopNamespace(t)
	user := userFor(ns, "audit")
	kubectl(t, "apply", "-f", filepath.Join(env.root, "docs/rbac/harden-audit.yaml"))
	bindView(t, user, "", "kubectl-harden-audit")

	text := harden(t, "deploy/api", "-n", ns, "-o", "text", "--as="+user)
	if text.code != 1 || strings.Contains(text.stdout, "unread") {
		t.Errorf("deploy/api with harden-audit.yaml: want exit 1 and no unread line:\n%s", text)
	}
	admin := workloadJSON(t, harden(t, "deploy/api", "-n", ns, "-o", "json"))
	viewer := workloadJSON(t, harden(t, "deploy/api", "-n", ns, "-o", "json", "--as="+user))
	if marked := sameButMarked(t, "harden-audit.yaml", admin, viewer); len(marked) != 0 || len(viewer.Unread) != 0 {
		t.Errorf("harden-audit.yaml: marked %v, unread %v", marked, viewer.Unread)
	}
	for _, args := range [][]string{{"audit", "-n", ns}, {"audit", "-A"}} {
		r := harden(t, append(args, "--as="+user)...)
		if r.code != 1 || strings.Contains(r.stdout, "unread") {
			t.Errorf("%v with harden-audit.yaml: want exit 1 and no unread line:\n%s", args, r)
		}
	}
}
