package job

import (
	"fmt"
	"math"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// run is one Job's execution as its pods show it: a Job workload has one,
// a CronJob one per Job of it whose pods are still kept (Job history
// limits and ttlSecondsAfterFinished decide how many).
type run struct {
	Job string
	// Start is the earliest startTime of the Job's pods; zero when none
	// has started.
	Start time.Time
	// End is the latest finishedAt of the pods' terminated containers;
	// zero when none reports one.
	End time.Time
	// Finished: every pod of the Job ended (phase Succeeded or Failed).
	Finished bool
	// Failures counts what the Job controller counts against backoffLimit:
	// failed pods, and container restarts (restartPolicy OnFailure).
	Failures int32
}

// Duration is how long a finished run took, from its first pod's start to
// its last container's end: the span activeDeadlineSeconds bounds.
func (r run) Duration() time.Duration { return r.End.Sub(r.Start) }

// Measured reports whether the run finished with a known start and end.
func (r run) Measured() bool { return r.Finished && !r.Start.IsZero() && !r.End.IsZero() }

// overlaps reports whether two runs were active at the same time; a run
// still going has no end yet. A run whose start, or end once finished, is
// unknown overlaps nothing.
func (r run) overlaps(o run) bool {
	known := func(x run) bool { return !x.Start.IsZero() && (!x.Finished || !x.End.IsZero()) }
	if !known(r) || !known(o) {
		return false
	}
	return (!o.Finished || r.Start.Before(o.End)) && (!r.Finished || o.Start.Before(r.End))
}

// runs groups the workload's pods (s.Pods: for a CronJob, its Jobs' pods,
// see inspect.Reader) by the Job that owns them, in start order.
func runs(s *inspect.Snapshot) []run {
	byJob := map[string]*run{}
	for i := range s.Pods {
		p := &s.Pods[i]
		name := jobOf(p)
		if name == "" {
			continue
		}
		r := byJob[name]
		if r == nil {
			r = &run{Job: name, Finished: true}
			byJob[name] = r
		}
		if st := p.Status.StartTime; st != nil && (r.Start.IsZero() || st.Time.Before(r.Start)) {
			r.Start = st.Time
		}
		if p.Status.Phase == corev1.PodFailed {
			r.Failures++
		}
		done := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		r.Finished = r.Finished && done
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if p.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
				r.Failures += cs.RestartCount
			}
			if t := cs.State.Terminated; t != nil && t.FinishedAt.After(r.End) {
				r.End = t.FinishedAt.Time
			}
		}
	}
	out := make([]run, 0, len(byJob))
	for _, r := range byJob {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Job < out[j].Job
	})
	return out
}

// jobOf names the Job a pod belongs to: its controller, else the labels
// the Job controller sets (batch.kubernetes.io/job-name since Kubernetes
// 1.27, job-name before).
func jobOf(p *corev1.Pod) string {
	if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == "Job" {
		return ref.Name
	}
	if n := p.Labels["batch.kubernetes.io/job-name"]; n != "" {
		return n
	}
	return p.Labels["job-name"]
}

// longest is the longest measured run; ok is false when none is.
func longest(rs []run) (run, bool) {
	var best run
	ok := false
	for _, r := range rs {
		if r.Measured() && (!ok || r.Duration() > best.Duration()) {
			best, ok = r, true
		}
	}
	return best, ok
}

// overlapping returns two runs that were active at once, if any.
func overlapping(rs []run) (run, run, bool) {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[i].overlaps(rs[j]) {
				return rs[i], rs[j], true
			}
		}
	}
	return run{}, run{}, false
}

// Deadline rules: activeDeadlineSeconds is headroom × the longest observed
// run, rounded up to a whole minute, and never below minDeadline.
const (
	headroom    = 3
	minDeadline = 3600 // seconds: the rule's default before it learned from runs
)

// deadlineFrom is activeDeadlineSeconds for a longest run of d, and where
// the number comes from, e.g. (4560, "3 × longest observed run 25m10s") or
// (3600, "at least 3600; 3 × longest observed run 2m5s is less").
func deadlineFrom(d time.Duration, job string) (int64, string) {
	secs := int64(math.Ceil(float64(headroom)*d.Seconds()/60)) * 60
	if secs < minDeadline {
		return minDeadline, fmt.Sprintf("at least %d; %d × longest observed run %s (job %s) is less", minDeadline, headroom, d, job)
	}
	return secs, fmt.Sprintf("%d × longest observed run %s (job %s)", headroom, d, job)
}
