package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A StatefulSet keeps a pod that never became Ready on the failed revision
// after its template is reverted (Kubernetes' "forced rollback"): the
// rollback of a failing fix must delete it, so the set is back on the
// original revision with every pod Ready when harden says it is as it was
// before. The new pods fail as a root-only image does under runAsNonRoot
// (kwok Stage, label harden-e2e/root-image), for 1 and 3 replicas.
func TestStatefulSetRollbackReplacesStuckPods(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/root-image-sts.yaml")
	for _, tc := range []struct {
		name  string
		stuck string // the pod the rolling update replaces first: the highest ordinal
	}{
		{"ledger1", "ledger1-0"},
		{"ledger3", "ledger3-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waitRollout(t, ns, "sts/"+tc.name)
			before := statefulSet(t, ns, tc.name)
			revision := before.Status.UpdateRevision
			spec := specJSON(t, ns, "sts", tc.name)

			start := time.Now()
			r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "sts/"+tc.name, "-n", ns,
				"--fix=run-as-non-root", "--yes", "--timeout=1m")
			took := time.Since(start)
			oneErrorLine(t, r,
				"pod "+tc.stuck+": CreateContainerConfigError (container has runAsNonRoot and image will run as root)",
				fmt.Sprintf("rolled back: statefulset/%s -n %s is as it was before", tc.name, ns),
				"deleted pod "+tc.stuck+", stuck on the failed revision, so it is recreated from the restored template")
			// The stuck pod ends the watch at once, and its replacement
			// comes back well within the rollback's bound.
			if took > 45*time.Second {
				t.Errorf("the run took %s with --timeout=1m: the stuck pod was not detected at once or the rollback waited out its bound", took.Round(time.Second))
			}

			// As the API server sees it, right after harden returned.
			after := statefulSet(t, ns, tc.name)
			if got := specJSON(t, ns, "sts", tc.name); got != spec {
				t.Errorf("spec differs after rollback:\nbefore %s\nafter  %s", spec, got)
			}
			if after.Status.UpdateRevision != revision || after.Status.CurrentRevision != revision {
				t.Errorf("revisions: update %s, current %s; want both %s", after.Status.UpdateRevision, after.Status.CurrentRevision, revision)
			}
			if after.Status.ReadyReplicas != *after.Spec.Replicas {
				t.Errorf("%d of %d replicas ready", after.Status.ReadyReplicas, *after.Spec.Replicas)
			}
			pods, err := env.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "set=" + tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if len(pods.Items) != int(*after.Spec.Replicas) {
				t.Errorf("%d pods, want %d", len(pods.Items), *after.Spec.Replicas)
			}
			for _, p := range pods.Items {
				if got := p.Labels[appsv1.ControllerRevisionHashLabelKey]; got != revision || !podReady(&p) || p.DeletionTimestamp != nil {
					t.Errorf("pod %s: revision %s (want %s), ready %v, deleting %v", p.Name, got, revision, podReady(&p), p.DeletionTimestamp != nil)
				}
				if sc := p.Spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
					t.Errorf("pod %s still asks for runAsNonRoot", p.Name)
				}
			}
		})
	}
}

func statefulSet(t *testing.T, ns, name string) *appsv1.StatefulSet {
	t.Helper()
	s, err := env.client.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
