package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"

	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// demoSnapshots are the demo shop's workloads as offline snapshots, each
// with the shop's Services, and the namespace's snapshot.
func demoSnapshots(t *testing.T) ([]*inspect.Snapshot, *inspect.NamespaceSnapshot) {
	t.Helper()
	shop, err := os.ReadFile("../../testdata/demo/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var workloads, others []string
	for _, doc := range strings.Split(string(shop), "\n---\n") {
		switch {
		case strings.Contains(doc, "kind: Deployment"), strings.Contains(doc, "kind: StatefulSet"), strings.Contains(doc, "kind: CronJob"):
			workloads = append(workloads, doc)
		case strings.Contains(doc, "kind: Service"):
			others = append(others, doc)
		}
	}
	dir := t.TempDir()
	var snaps []*inspect.Snapshot
	nsSnap := &inspect.NamespaceSnapshot{Namespace: &corev1.Namespace{}}
	nsSnap.Namespace.Name = "demo"
	for i, doc := range workloads {
		if strings.Contains(doc, "name: worker\n") {
			doc = strings.Replace(doc, "  labels: {app: worker}\n", "  labels: {app: worker}\n  annotations: {harden.kubectl.dev/skip: spread}\n", 1)
		}
		path := filepath.Join(dir, string(rune('a'+i))+".yaml")
		if err := os.WriteFile(path, []byte(strings.Join(append([]string{doc}, others...), "\n---\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		s := rulestest.Load(t, path)
		s.Namespace = nsSnap.Namespace
		snaps = append(snaps, s)
		nsSnap.Workloads++
		nsSnap.Templates = append(nsSnap.Templates, *s.Workload.PodTemplate())
	}
	return snaps, nsSnap
}

// demoAudit audits the demo shop (testdata/demo/shop.yaml) offline with the
// real rules: each workload with the shop's Services, and the namespace.
// The worker opts out of the spread rule, so the report has an exempted
// finding; the api's first finding gets a message full of Markdown and
// HTML, as a hostile cluster could send.
func demoAudit(t *testing.T) *audit.Report {
	t.Helper()
	snaps, nsSnap := demoSnapshots(t)
	a := audit.New(rules.Selection{})
	if _, err := a.Add(context.Background(), snaps, nsSnap); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if rep.Workloads != 5 || len(rep.Namespaces) != 1 {
		t.Fatalf("fixture: %d workloads in %d namespaces", rep.Workloads, len(rep.Namespaces))
	}
	for i := range rep.Namespaces[0].Workloads {
		if w := &rep.Namespaces[0].Workloads[i]; w.Name == "api" {
			w.Findings[0].Message = "evil | `rm -rf` <script>alert(1)</script> *bold* [link](x)\nsecond line"
		}
	}
	return rep
}
