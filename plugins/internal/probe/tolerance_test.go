package probe

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// The case: a liveness probe tolerating 65 s of start-up.
func TestStartupBudgetKeepsTheLivenessTolerance(t *testing.T) {
	lp := &corev1.Probe{InitialDelaySeconds: 20, PeriodSeconds: 15, FailureThreshold: 3, TimeoutSeconds: 5}
	c := &corev1.Container{Name: "c", LivenessProbe: lp}
	bounds := StartupBounds(&inspect.Snapshot{Cluster: &inspect.Cluster{}}, c, lp)
	timeout, why := TimeoutAtLeast(c, 1)
	sp, allowed, period := Startup(nil, Binding(bounds).Seconds, timeout)
	if allowed != 65 || period != 5 || sp["failureThreshold"] != int64(13) || timeout != 5 || why != "the livenessProbe's" {
		t.Errorf("budget %d s every %d s (%v), timeout %d (%s)", allowed, period, sp, timeout, why)
	}
	if got, want := ExplainBudget(allowed, period, bounds),
		"start-up budget 65 s (failureThreshold 13 × periodSeconds 5 s) ≥ liveness tolerance 65 s (initialDelaySeconds 20 + 3 × 15 s), ≥ 2 × livenessProbe initialDelaySeconds 20, ≥ minimum 30 s (no start observed)"; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}

// An observed start longer than every probe setting sets the budget, and
// a timeout longer than the period lengthens the period.
func TestStartupBudgetFromObservedStart(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	pod := corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{
		Phase: corev1.PodRunning, StartTime: &start,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(start.Add(100 * time.Second))}},
	}}
	s := &inspect.Snapshot{Cluster: &inspect.Cluster{}, Pods: []corev1.Pod{pod}}
	c := &corev1.Container{Name: "c", ReadinessProbe: &corev1.Probe{TimeoutSeconds: 7}}
	bounds := StartupBounds(s, c, nil)
	_, allowed, period := Startup(nil, Binding(bounds).Seconds, 7)
	if b := Binding(bounds); b.Seconds != 200 || b.What != "2 × slowest observed start 1m40s" || allowed != 203 || period != 7 {
		t.Errorf("binding %+v, allowed %d every %d s", b, allowed, period)
	}
}
