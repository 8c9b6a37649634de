package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// harness runs a Scheduler whose work blocks until the test releases it,
// so the test sees exactly which slots run together.
type harness struct {
	t       *testing.T
	started chan int
	release []chan struct{}
	ended   chan []int // Run's notStarted
	order   []int      // finished calls, in order
}

func runHarness(t *testing.T, ctx context.Context, s Scheduler, slots []Slot) *harness {
	h := &harness{t: t, started: make(chan int, len(slots)), ended: make(chan []int, 1)}
	for range slots {
		h.release = append(h.release, make(chan struct{}))
	}
	go func() {
		h.ended <- s.Run(ctx, slots, func(ctx context.Context, i int) {
			h.started <- i
			<-h.release[i]
		}, func(i int) { h.order = append(h.order, i) })
	}()
	return h
}

// expect waits for exactly these slots to start (together, in any
// order: their goroutines race), and for no other to start after them.
func (h *harness) expect(want ...int) {
	h.t.Helper()
	var got []int
	for range want {
		select {
		case i := <-h.started:
			got = append(got, i)
		case <-time.After(5 * time.Second):
			h.t.Fatalf("started %v, want %v", got, want)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		h.t.Fatalf("started %v, want %v", got, want)
	}
	select {
	case i := <-h.started:
		h.t.Fatalf("slot %d started beside %v, against the rules", i, want)
	case <-time.After(50 * time.Millisecond):
	}
}

func (h *harness) finish(i int) { close(h.release[i]) }

func (h *harness) wait() []int {
	h.t.Helper()
	select {
	case ns := <-h.ended:
		return ns
	case <-time.After(5 * time.Second):
		h.t.Fatal("Run did not return")
		return nil
	}
}

func TestSchedulerParallelLimit(t *testing.T) {
	slots := []Slot{{Key: "a", Namespace: "x"}, {Key: "b", Namespace: "x"}, {Key: "c", Namespace: "y"}, {Key: "d", Namespace: "y"}}
	h := runHarness(t, context.Background(), Scheduler{Parallel: 3}, slots)
	h.expect(0, 1, 2)
	h.finish(1)
	h.expect(3)
	h.finish(0)
	h.finish(2)
	h.finish(3)
	if ns := h.wait(); len(ns) != 0 {
		t.Errorf("not started: %v", ns)
	}
	if len(h.order) != 4 || h.order[0] != 1 {
		t.Errorf("finished calls %v, want slot 1 first, then the others once each", h.order)
	}
	slices.Sort(h.order)
	if !slices.Equal(h.order, []int{0, 1, 2, 3}) {
		t.Errorf("finished calls %v, want each slot once", h.order)
	}
}

// With --parallel 1 the run is the sequential one: each slot starts once
// the one before it has finished, in order.
func TestSchedulerSequential(t *testing.T) {
	slots := []Slot{{Key: "a"}, {Key: "b"}, {Key: "c"}}
	var told []int
	h := runHarness(t, context.Background(), Scheduler{Parallel: 1, Started: func(i int) { told = append(told, i) }}, slots)
	for i := range slots {
		h.expect(i)
		h.finish(i)
	}
	h.wait()
	if !slices.Equal(h.order, []int{0, 1, 2}) || !slices.Equal(told, []int{0, 1, 2}) {
		t.Errorf("started %v, finished %v, want 0 1 2", told, h.order)
	}
}

// Two slots of one workload never run together; a later slot that may
// run starts meanwhile.
func TestSchedulerSameWorkloadExcluded(t *testing.T) {
	slots := []Slot{{Key: "deployment/x/web"}, {Key: "deployment/x/web"}, {Key: "deployment/x/api"}}
	h := runHarness(t, context.Background(), Scheduler{Parallel: 3}, slots)
	h.expect(0, 2)
	h.finish(0)
	h.expect(1)
	h.finish(1)
	h.finish(2)
	h.wait()
}

// In a namespace, the workloads under a PodDisruptionBudget run at most
// Caps[ns] at once; those under none, and other namespaces, are not held
// back by them.
func TestSchedulerDisruptionCap(t *testing.T) {
	slots := []Slot{
		{Key: "a", Namespace: "shop", Covered: true},
		{Key: "b", Namespace: "shop", Covered: true},
		{Key: "c", Namespace: "shop", Covered: true},
		{Key: "d", Namespace: "shop"},
		{Key: "e", Namespace: "bank", Covered: true},
	}
	h := runHarness(t, context.Background(), Scheduler{Parallel: 4, Caps: map[string]int{"shop": 2, "bank": 1}}, slots)
	h.expect(0, 1, 3, 4) // c waits: two covered runs in shop already
	h.finish(3)
	h.expect() // a free slot, but shop's cap still holds c
	h.finish(1)
	h.expect(2)
	h.finish(0)
	h.finish(2)
	h.finish(4)
	h.wait()
}

// A cap of zero (a budget that allows no disruption now) still lets one
// run through, as the sequential run would; a namespace without a cap
// has one too.
func TestSchedulerCapAtLeastOne(t *testing.T) {
	slots := []Slot{{Key: "a", Namespace: "shop", Covered: true}, {Key: "b", Namespace: "shop", Covered: true}, {Key: "c", Namespace: "other", Covered: true}, {Key: "d", Namespace: "other", Covered: true}}
	h := runHarness(t, context.Background(), Scheduler{Parallel: 4, Caps: map[string]int{"shop": 0}}, slots)
	h.expect(0, 2)
	h.finish(0)
	h.expect(1)
	h.finish(2)
	h.expect(3)
	h.finish(1)
	h.finish(3)
	h.wait()
}

// Once the context ends nothing more starts; the running slots are
// waited for, and the others are returned, in order.
func TestSchedulerStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	slots := []Slot{{Key: "a"}, {Key: "b"}, {Key: "c"}, {Key: "d"}}
	h := runHarness(t, ctx, Scheduler{Parallel: 2}, slots)
	h.expect(0, 1)
	cancel()
	h.finish(0)
	h.expect()
	select {
	case <-h.ended:
		t.Fatal("Run returned while slot 1 still runs")
	case <-time.After(50 * time.Millisecond):
	}
	h.finish(1)
	if ns := h.wait(); !slices.Equal(ns, []int{2, 3}) {
		t.Errorf("not started %v, want [2 3]", ns)
	}
	if !slices.Equal(h.order, []int{0, 1}) {
		t.Errorf("finished %v, want [0 1]", h.order)
	}
}

func budget(name string, sel *metav1.LabelSelector, allowed int32) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: policyv1.PodDisruptionBudgetSpec{Selector: sel},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed}}
}

func TestCovers(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "front"}
	for _, tc := range []struct {
		name    string
		pdbs    []policyv1.PodDisruptionBudget
		covered bool
		allowed int32
	}{
		{"no budget", nil, false, 0},
		{"another app's", []policyv1.PodDisruptionBudget{budget("api", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, 3)}, false, 0},
		{"a null selector selects no pod", []policyv1.PodDisruptionBudget{budget("none", nil, 0)}, false, 0},
		{"an empty selector selects every pod", []policyv1.PodDisruptionBudget{budget("all", &metav1.LabelSelector{}, 2)}, true, 2},
		{"the least of those that match", []policyv1.PodDisruptionBudget{
			budget("web", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, 3),
			budget("front", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}}, 1),
			budget("api", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, 0),
		}, true, 1},
		{"a selector that does not parse covers, allowing none", []policyv1.PodDisruptionBudget{
			budget("bad", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}, 5),
		}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			covered, allowed := Covers(tc.pdbs, web)
			if covered != tc.covered || allowed != tc.allowed {
				t.Errorf("Covers = %v, %d; want %v, %d", covered, allowed, tc.covered, tc.allowed)
			}
		})
	}
}

func TestDisruptionCaps(t *testing.T) {
	slots := []Slot{
		{Key: "a", Namespace: "shop", Covered: true},
		{Key: "b", Namespace: "shop", Covered: true},
		{Key: "c", Namespace: "shop"},
		{Key: "d", Namespace: "bank", Covered: true},
		{Key: "e", Namespace: "free"},
	}
	caps := DisruptionCaps(slots, map[int]int32{0: 3, 1: 2, 2: 0, 3: 0})
	want := map[string]int{"shop": 2, "bank": 1}
	if len(caps) != len(want) || caps["shop"] != 2 || caps["bank"] != 1 {
		t.Errorf("caps %v, want %v", caps, want)
	}
}

// Covered runs weigh the pods their rollouts take down: under a cap of 2,
// two rollouts of weight 1 run together, one of weight 2 runs alone, and
// one heavier than the cap (Recreate) runs alone too, never starved.
func TestSchedulerWeights(t *testing.T) {
	slots := []Slot{
		{Key: "a", Namespace: "shop", Covered: true, Weight: 1},
		{Key: "b", Namespace: "shop", Covered: true, Weight: 2},
		{Key: "c", Namespace: "shop", Covered: true, Weight: 1},
		{Key: "d", Namespace: "shop", Covered: true, Weight: 4},
	}
	h := runHarness(t, context.Background(), Scheduler{Parallel: 4, Caps: map[string]int{"shop": 2}}, slots)
	h.expect(0, 2) // b (2) does not fit beside a (1); c (1) does
	h.finish(0)
	h.expect() // c still weighs 1: b waits
	h.finish(2)
	h.expect(1)
	h.finish(1)
	h.expect(3) // heavier than the cap: alone
	h.finish(3)
	h.wait()
}

// Disruption resolves each kind's strategy as its controller does.
func TestDisruption(t *testing.T) {
	i32 := func(n int32) *int32 { return &n }
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int) *intstr.IntOrString { v := intstr.FromInt(n); return &v }
	deploy := func(replicas int32, strategy appsv1.DeploymentStrategy) *inspect.Workload {
		return &inspect.Workload{Deployment: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: i32(replicas), Strategy: strategy}}}
	}
	rolling := func(surge, unavailable *intstr.IntOrString) appsv1.DeploymentStrategy {
		return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}}
	}
	for _, c := range []struct {
		name string
		w    *inspect.Workload
		want int
	}{
		{"deployment default 25% of 4", deploy(4, rolling(pct("25%"), pct("25%"))), 1},
		{"deployment 25% of 8", deploy(8, rolling(pct("25%"), pct("25%"))), 2},
		{"deployment 2 of 4", deploy(4, rolling(num(0), num(2))), 2},
		{"deployment 0 surge 0 unavailable", deploy(4, rolling(num(0), num(0))), 1},
		{"deployment 0 unavailable with surge", deploy(4, rolling(num(1), num(0))), 0},
		{"deployment recreate", deploy(3, appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}), 3},
		{"statefulset default", &inspect.Workload{StatefulSet: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: i32(5)}}}, 1},
		{"statefulset 40% of 5", &inspect.Workload{StatefulSet: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: i32(5),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: pct("40%")}}}}}, 2},
		{"statefulset on delete", &inspect.Workload{StatefulSet: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: i32(5),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}}}}, 0},
		{"daemonset 10% of 12 nodes, rounded up", &inspect.Workload{DaemonSet: &appsv1.DaemonSet{
			Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: pct("10%")}}},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 12}}}, 2},
		{"job", &inspect.Workload{Job: &batchv1.Job{}}, 0},
	} {
		if got := Disruption(c.w); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
