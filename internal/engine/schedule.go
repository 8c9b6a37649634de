package engine

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	deploymentutil "k8s.io/kubectl/pkg/util/deployment"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// DefaultParallel is how many workloads `audit --fix --yes` fixes at once
// when --parallel is not given. It is harden's own choice, not a
// Kubernetes default (kubectl rolls out one object per command). A fix
// costs about 27 requests (a fresh read of the workload and its
// namespace, a dry-run, the apply, the rollout watch; access reviews once
// per namespace) and then waits for its rollout: on a real cluster, where
// a rollout takes tens of seconds (image pulls, readiness,
// minReadySeconds), the overlapping waits cut the wall time about
// Parallel times (Online Boutique at 4: 3m52s → 1m02s). hack/bench-fix,
// with pods Ready 5 s after they start (-ready-after), measures 200
// Deployments at about 25× one at 8, 13× at 16 and 8× at 32: the wall
// time is ⌈200 ÷ Parallel⌉ rollouts until the API server is the limit
// (with instant pods, about 40 s for 200 at any Parallel on 2 cores).
// Eight (Flux's controllers reconcile 4 at once by default, Argo CD
// syncs 10) also bounds how many workloads roll out a bad fix at the same
// moment, each rolling itself back: a larger number is a choice the user
// makes with --parallel.
const DefaultParallel = 8

// MaxParallel is the most workloads `audit --fix --yes --parallel` fixes
// at once: the session's client rate grows with the runs (cli's
// clientRate), so an unbounded --parallel would lift client-side
// throttling altogether; 32 already meets issue #16's target (200
// workloads in ≤ 10× one) on the local cluster with 5 s rollouts.
const MaxParallel = 32

// Slot is one workload for the Scheduler: slots with the same Key never
// run at once (audit --fix keys them by namespace and rules.NameStem);
// Covered says whether a PodDisruptionBudget of its namespace selects its
// pods, and Weight how many of them its rollout may take down at once
// (Disruption; at least 1 for a covered slot).
type Slot struct {
	Key       string
	Namespace string
	Covered   bool
	Weight    int
}

// Scheduler runs workloads with bounded parallelism, in the order given,
// under three rules:
//   - at most Parallel at once (below 1: one, the sequential run);
//   - never two runs of the same Key at once (one workload, or workloads
//     whose companions would share a name);
//   - in each namespace, the covered slots running (those whose pods a
//     PodDisruptionBudget covers) weigh at most Caps[namespace] (at least
//     one) together: the pods their rollouts may take down at once. A
//     covered slot heavier than the cap runs alone among them, as the
//     sequential run would. Workloads no budget covers are not limited by
//     this rule.
//
// A slot that may not start yet does not hold back later slots that may:
// the first startable slot in order is started.
type Scheduler struct {
	Parallel int
	Caps     map[string]int
	// Started, when set, is called from Run's goroutine as slot i is
	// started, before its work: starts are told in the order they are
	// made.
	Started func(i int)
}

// Run starts work(ctx, i) for every slot i in its own goroutine as the
// rules allow, and calls finished(i) from Run's own goroutine, one at a
// time, as each work returns. Once ctx is done no slot is started; the
// running ones are waited for (they roll back on their own). It returns
// the indices never started, in order.
func (s Scheduler) Run(ctx context.Context, slots []Slot, work func(ctx context.Context, i int), finished func(i int)) (notStarted []int) {
	limit := max(s.Parallel, 1)
	started := make([]bool, len(slots))
	runningKey := map[string]bool{}
	runningCovered := map[string]int{}
	running := 0
	done := make(chan int)
	pending := len(slots)
	for {
		if ctx.Err() == nil {
			for i := 0; i < len(slots) && running < limit; i++ {
				if started[i] || !s.admits(slots[i], runningKey, runningCovered) {
					continue
				}
				started[i], pending = true, pending-1
				running++
				runningKey[slots[i].Key] = true
				if slots[i].Covered {
					runningCovered[slots[i].Namespace] += weight(slots[i])
				}
				if s.Started != nil {
					s.Started(i)
				}
				go func(i int) {
					work(ctx, i)
					done <- i
				}(i)
			}
		}
		if running == 0 {
			break
		}
		i := <-done
		running--
		delete(runningKey, slots[i].Key)
		if slots[i].Covered {
			runningCovered[slots[i].Namespace] -= weight(slots[i])
		}
		if finished != nil {
			finished(i)
		}
	}
	for i, ok := range started {
		if !ok {
			notStarted = append(notStarted, i)
		}
	}
	return notStarted
}

// admits reports whether slot may start beside the running ones.
func (s Scheduler) admits(slot Slot, runningKey map[string]bool, runningCovered map[string]int) bool {
	if runningKey[slot.Key] {
		return false
	}
	if !slot.Covered {
		return true
	}
	inFlight := runningCovered[slot.Namespace]
	return inFlight == 0 || inFlight+weight(slot) <= s.capOf(slot.Namespace)
}

// weight is a covered slot's weight: at least one pod.
func weight(slot Slot) int { return max(slot.Weight, 1) }

// capOf is the namespace's cap on runs of covered workloads: Caps' value,
// at least one (a budget that allows no disruption still lets one fix at
// a time through, as the sequential run does).
func (s Scheduler) capOf(namespace string) int {
	c, ok := s.Caps[namespace]
	if !ok {
		return 1
	}
	return max(c, 1)
}

// Covers returns whether any of pdbs (one namespace's) selects pods with
// these labels, and the smallest status.disruptionsAllowed among those
// that do. A budget with a null selector selects no pod and one with an
// empty selector every pod of its namespace (policy/v1); a selector that
// does not parse is taken to cover the pods, with 0 disruptions allowed,
// since the disruption controller cannot say otherwise either.
func Covers(pdbs []policyv1.PodDisruptionBudget, podLabels map[string]string) (covered bool, allowed int32) {
	set := labels.Set(podLabels)
	for i := range pdbs {
		p := &pdbs[i]
		if p.Spec.Selector == nil {
			continue
		}
		n := p.Status.DisruptionsAllowed
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			n = 0
		} else if !sel.Matches(set) {
			continue
		}
		if !covered || n < allowed {
			allowed = n
		}
		covered = true
	}
	return covered, allowed
}

// DisruptionCaps returns, per namespace, the cap the Scheduler puts on
// concurrent fixes of covered workloads: the smallest disruptionsAllowed
// (allowed[i], from Covers, for each covered slot i) of the budgets that
// cover the workloads to fix there, at least one. The Scheduler keeps the
// weights (pods each rollout may take down at once) of the covered runs
// under it, so no budget sees more pods down at once than the disruptions
// it allows. A caller that could not read a namespace's budgets marks its
// slots covered with 0 allowed: one at a time there.
func DisruptionCaps(slots []Slot, allowed map[int]int32) map[string]int {
	caps := map[string]int{}
	for i, s := range slots {
		if !s.Covered {
			continue
		}
		n := max(int(allowed[i]), 1)
		if c, ok := caps[s.Namespace]; !ok || n < c {
			caps[s.Namespace] = n
		}
	}
	return caps
}

// Disruption is how many of the workload's pods its rollout may take down
// at once, as its controller resolves its strategy:
//   - a Deployment: replicas with Recreate; with RollingUpdate its
//     maxUnavailable resolved against replicas as the deployment
//     controller does (kubectl's deploymentutil.ResolveFenceposts: 25% of
//     4 is 1, and 0 with 0 surge is 1);
//   - a StatefulSet: its rollingUpdate.maxUnavailable (default 1) resolved
//     against replicas, rounded down, at least 1; 0 with OnDelete (the
//     controller replaces no pod);
//   - a DaemonSet: its rollingUpdate.maxUnavailable (default 1) resolved
//     against the nodes it runs on (status.desiredNumberScheduled),
//     rounded up as the daemonset controller does; 0 with OnDelete;
//   - a Job or CronJob: 0, a fix takes none of its running pods down.
func Disruption(w *inspect.Workload) int {
	switch {
	case w.Deployment != nil:
		d := w.Deployment
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		ru := d.Spec.Strategy.RollingUpdate
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType || ru == nil {
			return int(replicas)
		}
		_, unavailable, err := deploymentutil.ResolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, replicas)
		if err != nil {
			return int(replicas)
		}
		return int(unavailable)
	case w.StatefulSet != nil:
		st := w.StatefulSet
		if st.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
			return 0
		}
		replicas := 1
		if st.Spec.Replicas != nil {
			replicas = int(*st.Spec.Replicas)
		}
		var mu *intstr.IntOrString
		if ru := st.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			mu = ru.MaxUnavailable
		}
		return max(scaled(mu, replicas, false), 1)
	case w.DaemonSet != nil:
		ds := w.DaemonSet
		if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return 0
		}
		var mu *intstr.IntOrString
		if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			mu = ru.MaxUnavailable
		}
		return max(scaled(mu, int(ds.Status.DesiredNumberScheduled), true), 1)
	}
	return 0
}

// scaled resolves a maxUnavailable (nil: 1) against total; a value that
// does not parse counts as all of them.
func scaled(v *intstr.IntOrString, total int, roundUp bool) int {
	one := intstr.FromInt32(1)
	n, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(v, one), total, roundUp)
	if err != nil {
		return total
	}
	return n
}
