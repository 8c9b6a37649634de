package job

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "finished job: deadline from its run", Failure: "testdata/failure-job.yaml", Fixed: "testdata/fixed-job.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"}},
		{Name: "no run observed: the deadline needs a human", Failure: "testdata/failure-job-unobserved.yaml", Fixed: "testdata/fixed-job-unobserved.yaml",
			Findings:   []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"},
			NeedsHuman: []string{"no run observed yet (no finished run to learn its length from; a guessed deadline kills a longer healthy run): set --set job.active-deadline=SECONDS above the longest run you expect"}},
		{Name: "running job, no finished run: needs a human", Failure: "testdata/failure-job-running.yaml", Fixed: "testdata/fixed-job-running.yaml",
			Findings:   []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"},
			NeedsHuman: []string{"no run observed yet (no finished run to learn its length from; job reindex is running since 2026-11-28T05:00:00Z;"}},
		{Name: "running job, the user's deadline", Failure: "testdata/failure-job-running.yaml", Fixed: "testdata/fixed-job-running-params.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"}, Params: rules.Params{"active-deadline": "10800"}},
		{Name: "cronjob: deadline and backoffLimit from its runs", Failure: "testdata/failure-cronjob.yaml", Fixed: "testdata/fixed-cronjob.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no backoffLimit", "concurrencyPolicy Allow", "no startingDeadlineSeconds"}},
		{Name: "cronjob whose runs overlapped: concurrencyPolicy needs a human", Failure: "testdata/failure-cronjob-overlap.yaml", Fixed: "testdata/fixed-cronjob-overlap.yaml",
			Findings:   []string{"no activeDeadlineSeconds", "concurrencyPolicy Allow", "no startingDeadlineSeconds"},
			NeedsHuman: []string{"runs overlapped: job sync-29401455 started at 2026-11-28T00:15:00Z while job sync-29401440 was still running; Forbid would skip a run"}},
		{Name: "parameters win over the observed run", Failure: "testdata/failure-job.yaml", Fixed: "testdata/fixed-params.yaml",
			Findings: []string{"no activeDeadlineSeconds", "no ttlSecondsAfterFinished"}, Params: rules.Params{"active-deadline": "120", "ttl": "60"}},
		{Name: "bounded cronjob passes", Failure: "testdata/pass.yaml"},
	})
}

// Every number says where it comes from, and what the user must know.
func TestDescriptionsAndWarnings(t *testing.T) {
	for _, tc := range []struct {
		file, field string
		params      rules.Params
		description string
		warnings    []string
	}{
		{"testdata/failure-job.yaml", "active-deadline", nil,
			"set activeDeadlineSeconds to 4560 (3 × longest observed run 25m10s (job migrate))", nil},
		{"testdata/failure-job.yaml", "active-deadline", rules.Params{"active-deadline": "120"},
			"set activeDeadlineSeconds to 120 (--set job.active-deadline)",
			[]string{"job migrate ran 25m10s: activeDeadlineSeconds 120 stops a run as long as that one"}},
		{"testdata/failure-job.yaml", "ttl", nil, "set ttlSecondsAfterFinished to 86400 (default: one day to read its status and logs)",
			[]string{"job migrate finished at 2026-11-28T02:25:12Z: it is deleted with its pods and their logs at 2026-11-29T02:25:12Z, at once if that time has passed"}},
		{"testdata/failure-job-running.yaml", "active-deadline", rules.Params{"active-deadline": "10800"},
			"set activeDeadlineSeconds to 10800 (--set job.active-deadline)",
			[]string{"job reindex is running: the deadline counts from its start (2026-11-28T05:00:00Z), so this run is stopped at 2026-11-28T08:00:00Z if it is still running then"}},
		{"testdata/failure-cronjob.yaml", "active-deadline", nil,
			"set activeDeadlineSeconds to 3600 (at least 3600; 3 × longest observed run 9m30s (job report-29401620) is less)", nil},
		{"testdata/failure-cronjob.yaml", "backoff-limit", nil,
			"set backoffLimit to 4 (job report-29401620 failed 4 times in one run; the API's default is 6)", nil},
		{"testdata/failure-cronjob.yaml", "concurrency", nil,
			"forbid concurrent runs (concurrencyPolicy Forbid: a run due while the previous one still runs is skipped; no observed runs overlapped)", nil},
		{"testdata/failure-cronjob.yaml", "starting-deadline", nil,
			"set startingDeadlineSeconds to 600 (default; a run that cannot start within 10m of its schedule (the controller was down) is skipped, not started late)", nil},
		{"testdata/failure-cronjob-overlap.yaml", "active-deadline", nil,
			"set activeDeadlineSeconds to 7200 (3 × longest observed run 40m0s (job sync-29401440))", nil},
		{"testdata/pass.yaml", "backoff-limit", nil, "set backoffLimit to 3 (default; no run observed)",
			[]string{"a run that needs 5 to 7 tries, as the API's default 6 allowed, now fails: give the limit with --set job.backoff-limit=N if runs are flaky"}},
	} {
		s := rulestest.Load(t, tc.file)
		fix, err := Rule{}.Fix(s, rules.Finding{Rule: id, Field: tc.field}, tc.params)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.file, tc.field, err)
		}
		if fix.Description != tc.description {
			t.Errorf("%s %s: description %q, want %q", tc.file, tc.field, fix.Description, tc.description)
		}
		if strings.Join(fix.Warnings, "\n") != strings.Join(tc.warnings, "\n") {
			t.Errorf("%s %s: warnings %q, want %q", tc.file, tc.field, fix.Warnings, tc.warnings)
		}
	}
}

// The deadline: 3 × the longest run, rounded up to a whole minute, at
// least 3600 s.
func TestDeadlineFrom(t *testing.T) {
	for _, tc := range []struct {
		run  time.Duration
		want int64
	}{
		{0, 3600}, {20 * time.Minute, 3600}, {20*time.Minute + time.Second, 3660},
		{25*time.Minute + 10*time.Second, 4560}, {2 * time.Hour, 21600},
	} {
		if got, _ := deadlineFrom(tc.run, "j"); got != tc.want {
			t.Errorf("run %s: deadline %d, want %d", tc.run, got, tc.want)
		}
	}
}

// A CronJob with two runs active now (status.active) needs a human for
// its concurrencyPolicy even when their pods are gone; runs a day apart
// do not.
func TestOverlap(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-cronjob.yaml")
	if r := overlapReason(s); r != "" {
		t.Errorf("runs a day apart overlap: %q", r)
	}
	s.Pods = nil
	for _, n := range []string{"report-1", "report-2"} {
		s.Workload.CronJob.Status.Active = append(s.Workload.CronJob.Status.Active, objectRef(n))
	}
	if r := overlapReason(s); !strings.HasPrefix(r, "2 runs are active at once (jobs report-1, report-2); Forbid would skip") {
		t.Errorf("two active runs: %q", r)
	}
}

func objectRef(name string) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", Name: name}
}

// Runs are grouped by Job; a run whose pods all ended without a container
// saying when (evicted before it started) is neither measured nor taken to
// overlap the next one; pods of no Job are left out.
func TestRuns(t *testing.T) {
	at := func(h int) *metav1.Time {
		v := metav1.NewTime(time.Date(2026, 11, 28, h, 0, 0, 0, time.UTC))
		return &v
	}
	pod := func(job string, phase corev1.PodPhase, start *metav1.Time, end *metav1.Time) corev1.Pod {
		p := corev1.Pod{Status: corev1.PodStatus{Phase: phase, StartTime: start}}
		if job != "" {
			p.Labels = map[string]string{"batch.kubernetes.io/job-name": job}
		}
		if end != nil {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: *end}}}}
		}
		return p
	}
	s := rulestest.Load(t, "testdata/pass.yaml")
	s.Pods = []corev1.Pod{
		pod("a", corev1.PodFailed, at(1), nil), // evicted: no end known
		pod("b", corev1.PodSucceeded, at(2), at(3)),
		pod("c", corev1.PodRunning, at(5), nil),
		pod("", corev1.PodRunning, at(2), nil), // no Job's
	}
	rs := runs(s)
	if len(rs) != 3 || rs[0].Job != "a" || rs[0].Measured() || !rs[1].Measured() || rs[2].Finished {
		t.Fatalf("runs %+v", rs)
	}
	if long, ok := longest(rs); !ok || long.Job != "b" || long.Duration() != time.Hour {
		t.Errorf("longest %+v %v", long, ok)
	}
	if a, b, ok := overlapping(rs); ok {
		t.Errorf("%s and %s overlap", a.Job, b.Job)
	}
	s.Pods = append(s.Pods, pod("d", corev1.PodRunning, at(4), nil))
	if a, b, ok := overlapping(runs(s)); !ok || a.Job != "d" || b.Job != "c" {
		t.Errorf("two runs going: %s %s %v", a.Job, b.Job, ok)
	}
}
