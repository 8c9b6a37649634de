package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// replicasOf reads spec.replicas of a Deployment from the API server.
func replicasOf(t *testing.T, ns, name string) int32 {
	t.Helper()
	d := deployment(t, ns, name)
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// replicasFinding returns the replicas finding of a workload (kind/name)
// in an audit report, and whether it has one.
func replicasFinding(doc audit.Report, ref string) (rules.Result, bool) {
	for _, ns := range doc.Namespaces {
		for _, w := range ns.Workloads {
			if !strings.EqualFold(w.Kind+"/"+w.Name, ref) {
				continue
			}
			for _, f := range w.Findings {
				if f.Rule == "replicas" {
					return f, true
				}
			}
		}
	}
	return rules.Result{}, false
}

// auditReport runs kubectl harden audit ARGS -o json.
func auditReport(t *testing.T, args ...string) audit.Report {
	t.Helper()
	r := harden(t, append(append([]string{"audit"}, args...), "-o", "json")...)
	var doc audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code > 1 || err != nil || doc.Kind != audit.Kind {
		t.Fatalf("audit %v: %v\n%s", args, err, r)
	}
	return doc
}

// Guestbook and Online Boutique as published (kubectl apply -f), then
// `kubectl harden audit -n NS --fix=replicas --yes`: the Redis servers are
// not doubled — two independent masters behind one Service would split
// the data — and the report says why; the stateless services get their
// second replica. The user's way out is explicit: count alone does not
// skip the checks, singleton=ok does.
func TestSingletonsCorpus(t *testing.T) {
	guestbook, boutique := newNamespace(t), newNamespace(t)
	kubectl(t, "apply", "-n", guestbook, "-f", corpus(t, "guestbook/guestbook-all-in-one.yaml"))
	kubectl(t, "apply", "-n", boutique, "-f", corpus(t, "online-boutique/kubernetes-manifests.yaml"))
	for _, ns := range []string{guestbook, boutique} {
		for _, d := range workloadNames(t, ns, "deployments") {
			waitRollout(t, ns, "deploy/"+d)
		}
	}

	// Guestbook: redis-master (image registry.k8s.io/redis, name and
	// container "master") must stay one; redis-replica (2) and frontend (3)
	// already run several and are left as published.
	r := harden(t, "audit", "-n", guestbook, "--fix=replicas", "--yes", "--timeout=2m")
	if r.code != 1 || !strings.Contains(r.stdout, "fixed 0,") || !strings.Contains(r.stdout, "1 finding of --fix=replicas still pending") {
		t.Errorf("guestbook audit --fix=replicas: %s", r)
	}
	for name, want := range map[string]int32{"redis-master": 1, "redis-replica": 2, "frontend": 3} {
		if got := replicasOf(t, guestbook, name); got != want {
			t.Errorf("guestbook %s: %d replicas, want %d", name, got, want)
		}
	}

	// Online Boutique: redis-cart (image redis:alpine) stays one; every
	// stateless service whose manifest leaves spec.replicas unset gets 2.
	// loadgenerator's manifest sets replicas: 1, so kubectl apply owns the
	// field: a conflict left to its owner, not a singleton.
	r = harden(t, "audit", "-n", boutique, "--fix=replicas", "--yes", "--timeout=3m")
	if r.code != 1 || !strings.Contains(r.stdout, "fixed 10,") {
		t.Errorf("boutique audit --fix=replicas: %s", r)
	}
	for _, name := range workloadNames(t, boutique, "deployments") {
		want := int32(2)
		if name == "redis-cart" || name == "loadgenerator" {
			want = 1
		}
		if got := replicasOf(t, boutique, name); got != want {
			t.Errorf("boutique %s: %d replicas, want %d", name, got, want)
		}
	}

	// The reasons: the audit's message names the word and where it was
	// seen; the fix, asked for, ends needs-human with the whole reason and
	// the way on.
	for ns, words := range map[string][]string{
		guestbook: {"deployment/redis-master", `image registry.k8s.io/redis:e2e (container master) says "redis"`, `name redis-master says "master"`},
		boutique:  {"deployment/redis-cart", `image redis:alpine (container redis) says "redis"`},
	} {
		f, ok := replicasFinding(auditReport(t, "-n", ns), words[0])
		if !ok {
			t.Errorf("%s: no replicas finding in the audit", words[0])
			continue
		}
		for _, w := range words[1:] {
			if !strings.Contains(f.Message, "more copies may not be safe: ") || !strings.Contains(f.Message, w) {
				t.Errorf("%s: audit message %q lacks %q", words[0], f.Message, w)
			}
		}
		doc, _ := hardenReport(t, words[0], "-n", ns, "--fix=replicas")
		got := findings(doc, "replicas")
		if len(got) != 1 || got[0].Status != rules.StatusNeedsHuman ||
			!strings.Contains(got[0].Reason, "a second pod is a second, independent server behind the same Service") ||
			!strings.Contains(got[0].Reason, "kubectl harden "+words[0]+" -n "+ns+" --fix=replicas --set replicas.singleton=ok") {
			t.Errorf("%s --fix=replicas: %+v", words[0], got)
		}
	}
	for _, name := range []string{"frontend", "productcatalogservice"} {
		if f, ok := replicasFinding(auditReport(t, "-n", boutique), "deployment/"+name); ok {
			t.Errorf("boutique %s still has a replicas finding: %+v", name, f)
		}
	}

	// A count named on the command line does not skip the checks…
	r = harden(t, "deploy/redis-cart", "-n", boutique, "--fix=replicas", "--set", "replicas.count=3", "--yes", "--timeout=2m")
	if r.code != 1 || replicasOf(t, boutique, "redis-cart") != 1 {
		t.Errorf("count=3 scaled redis-cart (%d replicas): %s", replicasOf(t, boutique, "redis-cart"), r)
	}
	// …the user saying copies are safe does.
	r = harden(t, "deploy/redis-cart", "-n", boutique, "--fix=replicas", "--set", "replicas.singleton=ok", "--yes", "--timeout=2m")
	if r.code > 1 || replicasOf(t, boutique, "redis-cart") != 2 {
		t.Errorf("singleton=ok did not scale redis-cart (%d replicas): %s", replicasOf(t, boutique, "redis-cart"), r)
	}
}

// A Deployment whose pod holds a leader-election Lease, and one mounting a
// ReadWriteOnce claim, both applied with kubectl apply -f: the replicas
// fix leaves both to a human, naming the Lease and the claim. A user who
// may not list Leases or PersistentVolumeClaims is still audited: a claim
// it cannot read counts as not shareable, and says why.
func TestSingletonsLeaseAndClaim(t *testing.T) {
	ns := newNamespace(t)
	dir := t.TempDir()
	write := func(name, manifest string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	kubectl(t, "apply", "-n", ns, "-f", write("apps.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: elector}
spec:
  replicas: 1
  selector: {matchLabels: {app: elector}}
  template:
    metadata: {labels: {app: elector}}
    spec:
      containers:
      - {name: elector, image: registry.example.com/shop/elector:1.0}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: uploads}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: uploader}
spec:
  replicas: 1
  selector: {matchLabels: {app: uploader}}
  template:
    metadata: {labels: {app: uploader}}
    spec:
      containers:
      - name: uploader
        image: registry.example.com/shop/uploader:1.0
        volumeMounts: [{name: uploads, mountPath: /srv/uploads}]
      volumes:
      - {name: uploads, persistentVolumeClaim: {claimName: uploads}}
`))
	waitRollout(t, ns, "deploy/elector")
	pod := strings.TrimSpace(kubectl(t, "get", "pods", "-n", ns, "-l", "app=elector", "-o", "jsonpath={.items[0].metadata.name}"))
	// What client-go's leader election writes: HOSTNAME_UUID.
	kubectl(t, "apply", "-n", ns, "-f", write("lease.yaml", `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: elector-lock}
spec:
  holderIdentity: `+pod+`_5f0c6b2e-8a1d-4c4f-9d7e-0b1a2c3d4e5f
  leaseDurationSeconds: 15
`))

	for name, want := range map[string]string{
		"elector":  "pod " + pod + " holds Lease elector-lock (holderIdentity " + pod + "_5f0c6b2e",
		"uploader": "volume uploads mounts PersistentVolumeClaim uploads (ReadWriteOnce): a pod on another node cannot attach it",
	} {
		doc, _ := hardenReport(t, "deploy/"+name, "-n", ns, "--fix=replicas", "--yes", "--timeout=60s")
		got := findings(doc, "replicas")
		if len(got) != 1 || got[0].Status != rules.StatusNeedsHuman || !strings.Contains(got[0].Reason, want) {
			t.Errorf("%s: %+v, want needs-human with %q", name, got, want)
		}
		if n := replicasOf(t, ns, name); n != 1 {
			t.Errorf("%s scaled to %d", name, n)
		}
	}

	// The user limited may read what an audit reads, except Leases and
	// PersistentVolumeClaims.
	grant(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: `+ns+`-no-leases}
rules:
- apiGroups: ["", apps, batch, policy, autoscaling, networking.k8s.io, scheduling.k8s.io, rbac.authorization.k8s.io]
  resources: [namespaces, nodes, pods, services, serviceaccounts, limitranges, resourcequotas, deployments, statefulsets,
    daemonsets, jobs, cronjobs, poddisruptionbudgets, horizontalpodautoscalers, networkpolicies, priorityclasses,
    rolebindings, clusterrolebindings]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: `+ns+`-no-leases}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: `+ns+`-no-leases}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
`, "list pods -n "+ns, "list clusterrolebindings")
	if doc := auditReport(t, "-n", ns, "--context", "harden-limited"); doc.Workloads != 2 {
		t.Fatalf("the audit without Leases read %d workloads, want 2", doc.Workloads)
	}
	doc, _ := hardenReport(t, "deploy/uploader", "-n", ns, "--context", "harden-limited", "--fix=replicas", "--dry-run=client")
	got := findings(doc, "replicas")
	if len(got) != 1 || got[0].Status != rules.StatusNeedsHuman ||
		!strings.Contains(got[0].Reason, "whose access mode is unknown (the claims could not be listed (") ||
		!strings.Contains(got[0].Reason, "forbidden") {
		t.Errorf("uploader without the right to list claims: %+v", got)
	}
}
