package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Harm that shows after the rollout watch (issue #14): fixes whose damage
// a green rollout cannot reveal are learned from evidence, left to a
// human with a suggestion, or planned only when their rule is named.

// The job rule's activeDeadlineSeconds comes from the runs the pods show:
// a Job that ran gets 3 × its longest run, at least 3600 s, with the
// source in the description; a Job with no run to learn from needs a
// human with the --set to give, and the user's value is then written.
func TestHarmLaterJobDeadline(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/harm-jobs.yaml")
	kubectl(t, "wait", "-n", ns, "--for=condition=complete", "job/short", "--timeout=90s")
	ctx := context.Background()
	jobs := env.client.BatchV1().Jobs(ns)

	doc, r := hardenReport(t, "job/short", "-n", ns, "--fix=job", "--yes")
	if d := byField(t, doc, "job", "active-deadline"); d.Status != rules.StatusFixed || d.Fix == nil ||
		!strings.HasPrefix(d.Fix.Description, "set activeDeadlineSeconds to 3600 (at least 3600; 3 × longest observed run ") {
		t.Errorf("short: active-deadline %s, fix %+v\n%s", d.Status, d.Fix, r)
	}
	if j, err := jobs.Get(ctx, "short", metav1.GetOptions{}); err != nil || j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds != 3600 {
		t.Errorf("short: activeDeadlineSeconds %v (%v), want 3600", j.Spec.ActiveDeadlineSeconds, err)
	}

	// Nothing ran: no guess, a human with the --set to give.
	doc, r = hardenReport(t, "job/later", "-n", ns, "--fix=job", "--yes")
	deadline := byField(t, doc, "job", "active-deadline")
	if deadline.Status != rules.StatusNeedsHuman || !strings.Contains(deadline.Reason, "no run observed yet") ||
		!strings.HasSuffix(deadline.Reason, "set --set job.active-deadline=SECONDS above the longest run you expect") {
		t.Errorf("later: active-deadline %s (%q), want needs-human with the suggestion\n%s", deadline.Status, deadline.Reason, r)
	}
	if j, err := jobs.Get(ctx, "later", metav1.GetOptions{}); err != nil || j.Spec.ActiveDeadlineSeconds != nil || j.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("later: activeDeadlineSeconds %v, ttlSecondsAfterFinished %v (%v): want no deadline, the ttl fixed",
			j.Spec.ActiveDeadlineSeconds, j.Spec.TTLSecondsAfterFinished, err)
	}
	// The user's value wins, and says so.
	doc, r = hardenReport(t, "job/later", "-n", ns, "--fix=job", "--set", "job.active-deadline=7200", "--yes")
	if d := byField(t, doc, "job", "active-deadline"); d.Status != rules.StatusFixed || d.Fix == nil ||
		d.Fix.Description != "set activeDeadlineSeconds to 7200 (--set job.active-deadline)" {
		t.Errorf("later with --set: %s %+v\n%s", d.Status, d.Fix, r)
	}
	if j, err := jobs.Get(ctx, "later", metav1.GetOptions{}); err != nil || j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds != 7200 {
		t.Errorf("later: activeDeadlineSeconds %v (%v), want 7200", j.Spec.ActiveDeadlineSeconds, err)
	}
}

// A CronJob whose runs overlap (two of its Jobs running at once) may
// overlap on purpose: concurrencyPolicy needs a human and stays Allow;
// with no finished run, the deadline needs one too. kwok completes every
// pod a Job controller makes at once, so the two runs still going are
// played by pods labelled as their (suspended) Jobs' pods.
func TestHarmLaterCronJobOverlap(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/harm-jobs.yaml")
	uid := kubectl(t, "get", "cronjob/sync", "-n", ns, "-o", "jsonpath={.metadata.uid}")
	var docs []string
	for _, run := range []string{"sync-a", "sync-b"} {
		docs = append(docs, fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %[1]s
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: sync, uid: %[2]s, controller: true}]
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{name: sync, image: registry.example/sync:1.0}]
---
apiVersion: v1
kind: Pod
metadata:
  name: %[1]s-pod
  labels: {batch.kubernetes.io/job-name: %[1]s}
spec:
  restartPolicy: Never
  containers: [{name: sync, image: registry.example/sync:1.0}]
`, run, uid))
	}
	kubectl(t, "apply", "-n", ns, "-f", writeManifest(t, docs...))
	pods := env.client.CoreV1().Pods(ns)
	waitPodsReady(t, "the runs' pods", func(ctx context.Context) (bool, error) {
		for _, p := range []string{"sync-a-pod", "sync-b-pod"} {
			pod, err := pods.Get(ctx, p, metav1.GetOptions{})
			if err != nil || pod.Status.Phase != corev1.PodRunning || pod.Status.StartTime == nil {
				return false, nil
			}
		}
		return true, nil
	})

	doc, r := hardenReport(t, "cronjob/sync", "-n", ns, "--fix=job", "--yes")
	if c := byField(t, doc, "job", "concurrency"); c.Status != rules.StatusNeedsHuman ||
		!strings.Contains(c.Reason, "runs overlapped: job sync-") || !strings.Contains(c.Reason, "set concurrencyPolicy yourself once you know whether runs may overlap") {
		t.Errorf("concurrency: %s (%q), want needs-human for the overlap\n%s", c.Status, c.Reason, r)
	}
	if d := byField(t, doc, "job", "active-deadline"); d.Status != rules.StatusNeedsHuman || !strings.Contains(d.Reason, "job sync-a is running since") {
		t.Errorf("active-deadline: %s (%q), want needs-human naming the runs going on", d.Status, d.Reason)
	}
	cj, err := env.client.BatchV1().CronJobs(ns).Get(context.Background(), "sync", metav1.GetOptions{})
	if err != nil || cj.Spec.ConcurrencyPolicy != "Allow" || cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds != nil || cj.Spec.StartingDeadlineSeconds == nil {
		t.Errorf("cronjob: %v: concurrencyPolicy %q, activeDeadlineSeconds %v, startingDeadlineSeconds %v; want Allow, none, set",
			err, cj.Spec.ConcurrencyPolicy, cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds, cj.Spec.StartingDeadlineSeconds)
	}
}

// maxUnavailable 0, maxSurge 1 on pods sharing a ReadWriteOnce claim
// would hang the next rollout on the volume: needs a human, and the live
// strategy stays; on a ReadWriteMany claim it is written. minReadySeconds
// says what it costs.
func TestHarmLaterRolloutClaims(t *testing.T) {
	ns := newNamespace(t)
	bindVolume(t, ns, "uploads-0", corev1.ReadWriteOnce)
	bindVolume(t, ns, "shared-0", corev1.ReadWriteMany)
	applyFile(t, ns, "testdata/e2e/harm-claims.yaml")
	waitRollout(t, ns, "deploy/uploads")
	waitRollout(t, ns, "deploy/shared")

	doc, r := hardenReport(t, "deploy/uploads", "-n", ns, "--fix=rollout", "--yes")
	s := byField(t, doc, "rollout", "spec.strategy.rollingUpdate")
	if s.Status != rules.StatusNeedsHuman || !strings.Contains(s.Reason, "PersistentVolumeClaim uploads-0 (ReadWriteOnce)") ||
		!strings.Contains(s.Reason, "keep maxSurge 0 (or Recreate) while the pods share a ReadWriteOnce claim") {
		t.Errorf("uploads: strategy %s (%q), want needs-human\n%s", s.Status, s.Reason, r)
	}
	if m := byField(t, doc, "rollout", "spec.minReadySeconds"); m.Status != rules.StatusFixed || m.Fix == nil ||
		!strings.Contains(m.Fix.Description, "each rollout takes about 10 s longer per pod") {
		t.Errorf("uploads: minReadySeconds %s %+v", m.Status, m.Fix)
	}
	d := deployment(t, ns, "uploads")
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.IntValue() != 1 || ru.MaxSurge.IntValue() != 0 || d.Spec.MinReadySeconds != 10 {
		t.Errorf("uploads: strategy %+v, minReadySeconds %d; want 1/0 kept, 10", d.Spec.Strategy.RollingUpdate, d.Spec.MinReadySeconds)
	}

	// The manifest sets the strategy: taking it is --force-conflicts.
	doc, r = hardenReport(t, "deploy/shared", "-n", ns, "--fix=rollout", "--yes", "--force-conflicts")
	if s := byField(t, doc, "rollout", "spec.strategy.rollingUpdate"); s.Status != rules.StatusFixed {
		t.Errorf("shared (ReadWriteMany): strategy %s (%q), want fixed\n%s", s.Status, s.Reason, r)
	}
	d = deployment(t, ns, "shared")
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("shared: strategy %+v, want maxUnavailable 0, maxSurge 1", d.Spec.Strategy.RollingUpdate)
	}
}

// privileged: false and a read-only root break the app at runtime, not at
// start: --fix=all skips both with the reason (and for privileged, what to
// grant instead), writing neither; naming the rules applies them.
func TestHarmLaterOptInFixes(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/harm-privileged.yaml")
	waitRollout(t, ns, "deploy/gateway")

	doc, r := hardenReport(t, "deploy/gateway", "-n", ns, "--fix=all", "--yes")
	if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
		t.Fatalf("--fix=all applied nothing: %s", r)
	}
	p := oneFinding(t, doc, "privileged")
	if p.Status != rules.StatusSkipped || !strings.Contains(p.Reason, "container net-init uses iptables and network setup: grant capabilities.add [NET_ADMIN, NET_RAW]") ||
		!strings.HasSuffix(p.Reason, "name it to apply: --fix=privileged") {
		t.Errorf("privileged under --fix=all: %s (%q)", p.Status, p.Reason)
	}
	ro := oneFinding(t, doc, "read-only-root-fs")
	if ro.Status != rules.StatusSkipped || !strings.Contains(ro.Reason, "a write outside /tmp and the container's volumes (caches, uploads, PID and lock files) fails at runtime, after the rollout watch") ||
		!strings.HasSuffix(ro.Reason, "name it to apply: --fix=read-only-root-fs") {
		t.Errorf("read-only-root-fs under --fix=all: %s (%q)", ro.Status, ro.Reason)
	}
	if pe := oneFinding(t, doc, "privilege-escalation"); pe.Status != rules.StatusNeedsHuman || !strings.Contains(pe.Reason, "--fix=privileged,privilege-escalation") {
		t.Errorf("privilege-escalation beside a privileged container: %s (%q)", pe.Status, pe.Reason)
	}
	spec := deployment(t, ns, "gateway").Spec.Template.Spec
	if sc := spec.InitContainers[0].SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged {
		t.Errorf("--fix=all took privilege from net-init: %+v", sc)
	}
	if sc := spec.Containers[0].SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		t.Error("--fix=all made app's root read-only")
	}

	// Named, they are applied (privileged: true is the manifest's: taken
	// with --force-conflicts).
	doc, r = hardenReport(t, "deploy/gateway", "-n", ns, "--fix=all,privileged,read-only-root-fs", "--yes", "--force-conflicts")
	for _, rule := range []string{"privileged", "read-only-root-fs", "privilege-escalation"} {
		if f := oneFinding(t, doc, rule); f.Status != rules.StatusFixed {
			t.Errorf("%s named: %s (%q)\n%s", rule, f.Status, f.Reason, r)
		}
	}
	spec = deployment(t, ns, "gateway").Spec.Template.Spec
	if sc := spec.InitContainers[0].SecurityContext; sc == nil || sc.Privileged == nil || *sc.Privileged {
		t.Errorf("net-init still privileged: %+v", sc)
	}
	if sc := spec.Containers[0].SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("app's root still writable: %+v", sc)
	}
}

// byField is the workload's finding of rule on field, failing the test
// when there is none.
func byField(t *testing.T, doc report.Report, rule, field string) rules.Result {
	t.Helper()
	for _, f := range findings(doc, rule) {
		if f.Field == field {
			return f
		}
	}
	t.Fatalf("no %s finding on %s: %+v", rule, field, findings(doc, rule))
	return rules.Result{}
}

// bindVolume makes a PersistentVolume of that access mode for the claim
// (no provisioner runs here); it is deleted with the test.
func bindVolume(t *testing.T, ns, claim string, mode corev1.PersistentVolumeAccessMode) {
	t.Helper()
	ctx := context.Background()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + claim},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName: "fast", AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns + "-" + claim}},
			ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: claim},
		},
	}
	if _, err := env.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
}
