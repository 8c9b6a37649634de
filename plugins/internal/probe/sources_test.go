package probe

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// A number harden picks names Kubernetes' own default when it differs.
func TestDefaultSource(t *testing.T) {
	for _, tc := range []struct {
		v, kube int64
		want    string
	}{
		{2, KubeTimeout, "harden's default; Kubernetes' is 1"},
		{1, KubeTimeout, "Kubernetes' default"},
		{6, KubeFailureThreshold, "harden's default; Kubernetes' is 3"},
		{10, KubePeriod, "Kubernetes' default"},
	} {
		if got := DefaultSource(tc.v, tc.kube); got != tc.want {
			t.Errorf("DefaultSource(%d, %d) = %q, want %q", tc.v, tc.kube, got, tc.want)
		}
	}
}

// A timeout longer than the period lengthens the period, and says so.
func TestPeriod(t *testing.T) {
	if got, why := Period(5, 2); got != 5 || why != "harden's default; Kubernetes' is 10" {
		t.Errorf("Period(5, 2) = %d (%s)", got, why)
	}
	if got, why := Period(5, 7); got != 7 || why != "= timeoutSeconds: a check starts only after the previous one timed out" {
		t.Errorf("Period(5, 7) = %d (%s)", got, why)
	}
}

// The start-up budget names the slowest start seen, or that none was.
func TestExplainBudgetNamesTheObservedStart(t *testing.T) {
	c := &corev1.Container{Name: "c"}
	none := &inspect.Snapshot{Cluster: &inspect.Cluster{}}
	if got, want := ExplainBudget(30, 5, StartupBounds(none, c, nil)), "start-up budget 30 s (failureThreshold 6 × periodSeconds 5 s) ≥ minimum 30 s (no start observed)"; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	start := metav1.NewTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	pod := corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{
		Phase: corev1.PodRunning, StartTime: &start,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(start.Add(12 * time.Second))}},
	}}
	seen := &inspect.Snapshot{Cluster: &inspect.Cluster{}, Pods: []corev1.Pod{pod}}
	if got, want := ExplainBudget(30, 5, StartupBounds(seen, c, nil)), "start-up budget 30 s (failureThreshold 6 × periodSeconds 5 s) ≥ minimum 30 s, ≥ 2 × slowest observed start 12s"; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}
