package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// corpus is real-world apps nobody here wrote, in ../shared/corpus.
func corpus(t *testing.T, path string) string {
	t.Helper()
	return filepath.Join(env.root, "..", "shared", "corpus", path)
}

func workloadNames(t *testing.T, ns, kind string) []string {
	t.Helper()
	out := kubectl(t, "get", kind, "-n", ns, "-o", "jsonpath={.items[*].metadata.name}")
	return strings.Fields(out)
}

// Online Boutique is already non-root, probed and sized: harden must not
// say otherwise. Its real gaps (one replica, no PDB, no spread, no
// NetworkPolicy, no seccomp profile) are found, and fixing them keeps its
// rollouts working.
func TestCorpusOnlineBoutique(t *testing.T) {
	ns := newNamespace(t)
	kubectl(t, "apply", "-n", ns, "-f", corpus(t, "online-boutique/kubernetes-manifests.yaml"))
	deployments := workloadNames(t, ns, "deployments")
	if len(deployments) != 12 {
		t.Fatalf("%d deployments, want 12", len(deployments))
	}
	for _, d := range deployments {
		waitRollout(t, ns, "deploy/"+d)
	}
	// Rules on what the boutique already does right: no finding at all.
	hardened := map[string]bool{"run-as-non-root": true, "privilege-escalation": true, "privileged": true, "capabilities": true,
		"read-only-root-fs": true, "resources": true, "image": true, "host-path": true, "host-namespaces": true, "host-ports": true,
		"sysctls": true, "pod-security": true, "secrets-in-env": true, "readiness-probe": true, "pod-health": true}
	found := map[string]int{}
	for _, d := range deployments {
		doc, _ := hardenReport(t, "deploy/"+d, "-n", ns)
		for _, f := range doc.Workloads[0].Findings {
			found[f.Rule]++
			if hardened[f.Rule] {
				t.Errorf("false alarm on %s: %s: %s", d, f.Rule, f.Message)
			}
		}
	}
	for _, rule := range []string{"replicas", "pdb", "spread", "network-policy", "seccomp"} {
		if found[rule] != len(deployments) {
			t.Errorf("%s found on %d of %d deployments", rule, found[rule], len(deployments))
		}
	}
	for _, d := range []string{"frontend", "cartservice", "redis-cart"} {
		doc, r := hardenReport(t, "deploy/"+d, "-n", ns, "--fix=all", "--yes", "--force-conflicts")
		if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
			t.Fatalf("%s: %s", d, r)
		}
		if again, _ := hardenReport(t, "deploy/"+d, "-n", ns, "--fix=all"); again.Workloads[0].Plan != nil {
			t.Errorf("%s: second run plans changes", d)
		}
	}
}

// The guestbook tutorial (no probes, root, no securityContext) is fixed
// with --fix=all and still rolls out; its identity is left to a human
// until run-as-non-root is named with each image's user, and then it
// passes restricted.
func TestCorpusGuestbook(t *testing.T) {
	ns := newNamespace(t)
	kubectl(t, "apply", "-n", ns, "-f", corpus(t, "guestbook/guestbook-all-in-one.yaml"))
	deployments := workloadNames(t, ns, "deployments")
	for _, d := range deployments {
		waitRollout(t, ns, "deploy/"+d)
	}
	// The kubelet reports no user (kwok, like many clusters before 1.33):
	// a guessed UID would break each of them (redis keeps its files as
	// its own user; gb-frontend is php-apache, which starts as root and
	// switches to www-data), so --fix=all leaves the identity, and the
	// capabilities of the root containers, to a human with the reason.
	for _, d := range deployments {
		doc, r := hardenReport(t, "deploy/"+d, "-n", ns, "--fix=all", "--yes", "--force-conflicts")
		if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
			t.Fatalf("%s: %s", d, r)
		}
		if f := finding(t, doc, "run-as-non-root"); f.Status != rules.StatusSkipped || !strings.Contains(f.Reason, "--set run-as-non-root.uid=") {
			t.Errorf("%s: run-as-non-root %s (%s), want skipped with the UID to give", d, f.Status, f.Reason)
		}
		for _, f := range doc.Workloads[0].Findings {
			if f.Rule == "capabilities" && f.Status != rules.StatusNeedsHuman {
				t.Errorf("%s: capabilities %s (%s) on a root container, want needs-human", d, f.Status, f.Reason)
			}
		}
	}
	// Named with the image's user (redis 999, php-apache's www-data 33),
	// every one passes restricted.
	for d, uid := range map[string]string{"redis-master": "999", "redis-replica": "999", "frontend": "33"} {
		doc, r := hardenReport(t, "deploy/"+d, "-n", ns, "--fix=all,run-as-non-root", "--set", "run-as-non-root.uid="+uid, "--yes", "--force-conflicts")
		if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
			t.Fatalf("%s named: %s", d, r)
		}
		if sc := deployment(t, ns, d).Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil || fmt.Sprint(*sc.RunAsUser) != uid {
			t.Errorf("%s: securityContext %+v, want runAsUser %s", d, sc, uid)
		}
	}
	warnings := restrictedWarnings(t, ns)
	for _, d := range deployments {
		if v := violating(warnings, d+"-"); len(v) > 0 {
			t.Errorf("%s violates restricted after --fix=all: %q", d, v)
		}
	}
}

// Cassandra: a StatefulSet with volume claims and exec probes. harden
// keeps its probes (never replaces exec probes), leaves its replica count
// alone, reports the IPC_LOCK capability it adds for a human, and its
// ordered rollout completes after --fix=all.
func TestCorpusCassandra(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	claimVolumes(t, ns, "cassandra-data-cassandra", 3)
	kubectl(t, "apply", "-n", ns, "-f", corpus(t, "cassandra/cassandra-service.yaml"), "-f", corpus(t, "cassandra/cassandra-statefulset.yaml"))
	waitRollout(t, ns, "sts/cassandra")
	// Cassandra is a data store on claims: non-root is opt-in, named here
	// with the user its files belong to.
	doc, r := hardenReport(t, "sts/cassandra", "-n", ns, "--fix=all,run-as-non-root", "--set", "run-as-non-root.uid=999",
		"--yes", "--force-conflicts", "--timeout=3m")
	if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
		t.Fatalf("cassandra: %s", r)
	}
	for _, f := range doc.Workloads[0].Findings {
		switch {
		case f.Rule == "readiness-probe" || f.Rule == "liveness-probe" && f.Status != rules.StatusNeedsHuman:
			t.Errorf("cassandra's exec probes flagged: %+v", f)
		case f.Rule == "capabilities" && f.Field == "securityContext.capabilities.add" && f.Status != rules.StatusNeedsHuman:
			t.Errorf("IPC_LOCK must be left to a human: %+v", f)
		case f.Rule == "replicas":
			t.Errorf("3 replicas flagged: %+v", f)
		}
	}
	sts, err := env.client.AppsV1().StatefulSets(ns).Get(ctx, "cassandra", metav1.GetOptions{})
	if err != nil || sts.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec == nil || sts.Status.ReadyReplicas != 3 {
		t.Errorf("cassandra after the fixes: %v, ready %d", err, sts.Status.ReadyReplicas)
	}
	if sc := sts.Spec.Template.Spec.SecurityContext; sc == nil || sc.FSGroup == nil {
		t.Error("volume claims need an fsGroup with a non-root user")
	}
}
