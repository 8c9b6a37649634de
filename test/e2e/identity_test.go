package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// finding is the workload's finding of rule, failing the test when there
// is not exactly one.
func finding(t *testing.T, doc report.Report, rule string) rules.Result {
	t.Helper()
	var out []rules.Result
	for _, f := range doc.Workloads[0].Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s findings, want 1: %+v", len(out), rule, out)
	}
	return out[0]
}

// bindsLowPorts reports whether the container drops ALL and adds back
// exactly NET_BIND_SERVICE.
func bindsLowPorts(c corev1.Container) bool {
	sc := c.SecurityContext
	return sc != nil && sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) &&
		slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"})
}

// A Deployment applied as published, with an explicit non-root user,
// group and fsGroup and a server on port 80: --fix=all keeps 1000/3000/2000,
// adds runAsNonRoot, keeps NET_BIND_SERVICE for port 80, and the API
// server's Pod Security admission finds nothing left against restricted.
func TestIdentityKeptAndPort80(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/identity.yaml")
	waitRollout(t, ns, "deploy/x")
	if len(violating(restrictedWarnings(t, ns), "x-")) == 0 {
		t.Fatal("deploy/x should violate restricted before the fix")
	}
	doc, r := hardenReport(t, "deploy/x", "-n", ns, "--fix=all", "--yes")
	if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
		t.Fatal(r)
	}
	for _, rule := range []string{"run-as-non-root", "capabilities"} {
		if f := finding(t, doc, rule); f.Status != rules.StatusFixed {
			t.Errorf("%s: %s (%s), want fixed", rule, f.Status, f.Reason)
		}
	}
	if msg := finding(t, doc, "capabilities").Message; !strings.Contains(msg, "web keeps NET_BIND_SERVICE (port 80 < 1024: a non-root process needs NET_BIND_SERVICE to bind it)") {
		t.Errorf("capabilities finding does not say why NET_BIND_SERVICE stays: %q", msg)
	}
	waitRollout(t, ns, "deploy/x")
	spec := deployment(t, ns, "x").Spec.Template.Spec
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1000 || sc.RunAsGroup == nil || *sc.RunAsGroup != 3000 ||
		sc.FSGroup == nil || *sc.FSGroup != 2000 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod securityContext %+v, want runAsUser 1000, runAsGroup 3000, fsGroup 2000 kept and runAsNonRoot true", sc)
	}
	if c := spec.Containers[0]; !bindsLowPorts(c) {
		t.Errorf("container web: securityContext %+v, want drop ALL, add NET_BIND_SERVICE", c.SecurityContext)
	}
	if v := violating(restrictedWarnings(t, ns), "x-"); len(v) > 0 {
		t.Errorf("deploy/x still violates restricted: %q", v)
	}
	if doc, _ := hardenReport(t, "deploy/x", "-n", ns, "--fix=run-as-non-root,capabilities"); doc.Workloads[0].Plan != nil {
		t.Error("a second run plans changes")
	}
}

// The user the containers report (status.containerStatuses[].user, filled
// by the kwok Stage from the label harden-e2e/uid): UID 1001 is kept under
// --fix=all; UID 0 makes the non-root fix a warned choice — skipped by
// --fix=all with the reason (and capabilities left to a human: the root
// entrypoint switches user), applied when the rule is named.
func TestIdentityLiveUID(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/identity-live.yaml")
	waitRollout(t, ns, "deploy/rooted")
	waitRollout(t, ns, "deploy/app")
	for app, uid := range map[string]string{"rooted": "0", "app": "1001"} {
		got := kubectl(t, "get", "pods", "-n", ns, "-l", "app="+app, "-o", "jsonpath={.items[*].status.containerStatuses[*].user.linux.uid}")
		if f := strings.Fields(got); len(f) == 0 || slices.ContainsFunc(f, func(s string) bool { return s != uid }) {
			t.Fatalf("pods of %s report UIDs %q, want %s (is the kwok Stage loaded?)", app, got, uid)
		}
	}

	// UID 1001: kept, with --fix=all.
	doc, r := hardenReport(t, "deploy/app", "-n", ns, "--fix=all", "--yes")
	if f := finding(t, doc, "run-as-non-root"); f.Status != rules.StatusFixed {
		t.Fatalf("app: run-as-non-root %s (%s), want fixed\n%s", f.Status, f.Reason, r)
	}
	sc := deployment(t, ns, "app").Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1001 || sc.RunAsGroup == nil || *sc.RunAsGroup != 1001 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("app: securityContext %+v, want runAsUser/runAsGroup 1001 and runAsNonRoot", sc)
	}

	// UID 0: --fix=all leaves the identity alone and says why.
	before := deployment(t, ns, "rooted").Spec.Template.Spec.SecurityContext
	doc, r = hardenReport(t, "deploy/rooted", "-n", ns, "--fix=all", "--yes")
	if !doc.Workloads[0].Applied {
		t.Fatal(r)
	}
	f := finding(t, doc, "run-as-non-root")
	if f.Status != rules.StatusSkipped || !strings.HasSuffix(f.Reason, "; name it to apply: --fix=run-as-non-root") ||
		!strings.Contains(f.Reason, "container web runs as root (UID 0) today") || f.OptIn == "" {
		t.Errorf("rooted under --fix=all: %s, reason %q, message %q", f.Status, f.Reason, f.Message)
	}
	waitRollout(t, ns, "deploy/rooted")
	spec := deployment(t, ns, "rooted").Spec.Template.Spec
	if sc := spec.SecurityContext; sc != nil && (sc.RunAsUser != nil || sc.RunAsNonRoot != nil || sc.RunAsGroup != nil) ||
		before != nil && (before.RunAsUser != nil || before.RunAsNonRoot != nil) {
		t.Errorf("rooted: --fix=all changed the identity: %+v", sc)
	}
	// Still root: dropping ALL would take the SETUID/SETGID nginx's
	// entrypoint needs to switch user; a human decides.
	if f := finding(t, doc, "capabilities"); f.Status != rules.StatusNeedsHuman || !strings.Contains(f.Reason, "container web runs as root: its entrypoint may need SETUID/SETGID/CHOWN") {
		t.Errorf("rooted under --fix=all: capabilities %s (%s), want needs-human", f.Status, f.Reason)
	}
	if sc := spec.Containers[0].SecurityContext; sc != nil && sc.Capabilities != nil {
		t.Errorf("rooted: --fix=all changed the capabilities of a root container: %+v", sc.Capabilities)
	}

	// Named, it is applied, and ALL is dropped (NET_BIND_SERVICE kept for
	// port 80) once the container runs as non-root.
	doc, r = hardenReport(t, "deploy/rooted", "-n", ns, "--fix=run-as-non-root,capabilities", "--yes")
	if f := finding(t, doc, "run-as-non-root"); f.Status != rules.StatusFixed || !doc.Workloads[0].Applied {
		t.Fatalf("rooted named: %s (%s)\n%s", f.Status, f.Reason, r)
	}
	if f := finding(t, doc, "capabilities"); f.Status != rules.StatusFixed {
		t.Errorf("rooted named: capabilities %s (%s), want fixed", f.Status, f.Reason)
	}
	if c := deployment(t, ns, "rooted").Spec.Template.Spec.Containers[0]; !bindsLowPorts(c) {
		t.Errorf("rooted named: container web securityContext %+v, want drop ALL, add NET_BIND_SERVICE", c.SecurityContext)
	}
	sc = deployment(t, ns, "rooted").Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("rooted named: securityContext %+v, want runAsUser 65532 and runAsNonRoot", sc)
	}
}
