// Package job checks that Jobs and CronJobs end, retry a bounded number of
// times, clean up after themselves and do not pile up.
package job

import (
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the job rule.
type Rule struct{}

const id = "job"

// Defaults the fixes set when neither the user nor the observed runs give
// a value (activeDeadlineSeconds has none: see deadlineFrom).
var defaults = map[string]int64{"backoff-limit": 3, "ttl": 86400, "starting-deadline": 600}

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Bounded Jobs and CronJobs", Category: rules.Rollout, Severity: rules.Medium,
		Kinds: inspect.KindsIn(inspect.JobLike),
		Why: "A Job without activeDeadlineSeconds can hang forever holding its resources; without " +
			"backoffLimit a failing one retries six times by default; finished Jobs without " +
			"ttlSecondsAfterFinished pile up. A CronJob that allows concurrent runs stacks slow runs on top of " +
			"each other, and one without startingDeadlineSeconds stops scheduling after 100 missed runs.",
		Remediation: "Set activeDeadlineSeconds, backoffLimit and ttlSecondsAfterFinished on Jobs (a CronJob's " +
			"jobTemplate); set concurrencyPolicy: Forbid (or Replace) and startingDeadlineSeconds on CronJobs. " +
			"A deadline stops a healthy run that lasts longer, hours after any rollout: the fix learns it from the " +
			"runs the pods show (3 × the longest finished run, rounded up to a minute, at least 3600 s) and, with " +
			"no finished run to learn from, needs a human. backoffLimit is raised to the most failures an observed " +
			"run had. A CronJob whose runs were seen overlapping needs a human to choose its concurrencyPolicy.",
		Fixable: true,
		Params: []rules.Param{
			{Name: "active-deadline", Description: "activeDeadlineSeconds; default 3 × the longest observed run rounded up to a minute, at least 3600; none without a finished run"},
			{Name: "backoff-limit", Description: "backoffLimit; default 3, or the most failures an observed run had (at most 6, the API's default)"},
			{Name: "ttl", Description: "ttlSecondsAfterFinished; default 86400"}, {Name: "starting-deadline", Description: "startingDeadlineSeconds; default 600"}},
	}
}

// spec is the Job spec of a Job or of a CronJob's template, and its path.
func spec(w *inspect.Workload) (*batchv1.JobSpec, []string) {
	if w.CronJob != nil {
		return &w.CronJob.Spec.JobTemplate.Spec, []string{"spec", "jobTemplate", "spec"}
	}
	return &w.Job.Spec, []string{"spec"}
}

// Check reports each unbounded setting.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	add := func(sev rules.Severity, field, msg string) {
		out = append(out, rules.Finding{Severity: sev, Field: field, Message: msg})
	}
	js, _ := spec(s.Workload)
	if js.ActiveDeadlineSeconds == nil {
		add(rules.Medium, "active-deadline", "no activeDeadlineSeconds: a hung run holds its pod forever")
	}
	if js.BackoffLimit == nil && s.Workload.CronJob != nil {
		add(rules.Low, "backoff-limit", "no backoffLimit: a failing run is retried 6 times")
	}
	if cj := s.Workload.CronJob; cj != nil {
		if cj.Spec.ConcurrencyPolicy == "" || cj.Spec.ConcurrencyPolicy == batchv1.AllowConcurrent {
			add(rules.Medium, "concurrency", "concurrencyPolicy Allow: slow runs pile up on top of each other")
			out[len(out)-1].NeedsHuman = overlapReason(s)
		}
		if cj.Spec.StartingDeadlineSeconds == nil {
			add(rules.Low, "starting-deadline", "no startingDeadlineSeconds: after 100 missed schedules the CronJob stops starting runs")
		}
	} else if js.TTLSecondsAfterFinished == nil {
		add(rules.Low, "ttl", "no ttlSecondsAfterFinished: the finished Job and its pods stay until deleted by hand")
	}
	return out
}

// overlapReason is why concurrencyPolicy needs a human: runs of the
// CronJob were seen active at once (two Jobs in status.active, or two
// Jobs whose pods' run times overlap), so they may overlap on purpose and
// Forbid would skip runs, Replace kill them. "" when no overlap was seen.
func overlapReason(s *inspect.Snapshot) string {
	const what = "; Forbid would skip a run while another runs, Replace would stop the running one: " +
		"set concurrencyPolicy yourself once you know whether runs may overlap"
	if active := s.Workload.CronJob.Status.Active; len(active) > 1 {
		return fmt.Sprintf("%d runs are active at once (jobs %s, %s)%s", len(active), active[0].Name, active[1].Name, what)
	}
	if a, b, ok := overlapping(runs(s)); ok {
		return fmt.Sprintf("runs overlapped: job %s started at %s while job %s was still running%s",
			b.Job, b.Start.UTC().Format(time.RFC3339), a.Job, what)
	}
	return ""
}

// Fix sets the one field the finding names. Every number says where it
// comes from: the user's --set, the runs observed (see runs.go), or the
// rule's default.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	_, path := spec(s.Workload)
	obj := rules.WorkloadChange(s.Workload)
	if f.Field == "concurrency" {
		rules.Set(obj, string(batchv1.ForbidConcurrent), "spec", "concurrencyPolicy")
		return &rules.Fix{Description: "forbid concurrent runs (concurrencyPolicy Forbid: a run due while the previous one " +
			"still runs is skipped; no observed runs overlapped)", Changes: []rules.Change{{Object: obj}}}, nil
	}
	user, given, err := param(p, f.Field)
	if err != nil {
		return nil, err
	}
	var v value
	switch f.Field {
	case "active-deadline":
		v, err = activeDeadline(s, user, given)
	case "backoff-limit":
		v = backoffLimit(s, user, given)
	case "ttl":
		v = ttl(s, user, given)
	default:
		v = value{n: user, source: "--set " + id + "." + f.Field}
		if !given {
			v = value{n: defaults[f.Field], source: "default; a run that cannot start within 10m of its schedule " +
				"(the controller was down) is skipped, not started late"}
		}
	}
	if err != nil {
		return nil, err
	}
	field := map[string][]string{
		"active-deadline":   append(path, "activeDeadlineSeconds"),
		"backoff-limit":     append(path, "backoffLimit"),
		"ttl":               append(path, "ttlSecondsAfterFinished"),
		"starting-deadline": {"spec", "startingDeadlineSeconds"},
	}[f.Field]
	rules.Set(obj, v.n, field...)
	return &rules.Fix{Description: fmt.Sprintf("set %s to %d (%s)", field[len(field)-1], v.n, v.source),
		Changes: []rules.Change{{Object: obj}}, Warnings: v.warnings}, nil
}

// value is a number a fix writes, where it comes from, and what to know.
type value struct {
	n        int64
	source   string
	warnings []string
}

// param reads the --set value of one parameter: a number ≥ 0.
func param(p rules.Params, name string) (int64, bool, error) {
	v, ok := p[name]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s must be a number ≥ 0, got %q", name, v)
	}
	return n, true, nil
}

// activeDeadline is activeDeadlineSeconds: the user's, else learned from
// the longest finished run (deadlineFrom). With no finished run to learn
// from, a guess would kill a healthy long run hours later: it needs a
// human. A Job running now is stopped once the deadline passes from its
// status.startTime: a warning gives that time.
func activeDeadline(s *inspect.Snapshot, user int64, given bool) (value, error) {
	rs := runs(s)
	long, observed := longest(rs)
	var v value
	switch {
	case given:
		v = value{n: user, source: "--set " + id + ".active-deadline"}
		if observed && time.Duration(user)*time.Second < long.Duration() {
			v.warnings = append(v.warnings, fmt.Sprintf("job %s ran %s: activeDeadlineSeconds %d stops a run as long as that one",
				long.Job, long.Duration(), user))
		}
	case observed:
		v.n, v.source = deadlineFrom(long.Duration(), long.Job)
	default:
		return value{}, rules.NeedsHumanf("no run observed yet (no finished run to learn its length from%s; a guessed deadline kills a longer healthy run): "+
			"set --set %s.active-deadline=SECONDS above the longest run you expect", runningNow(rs), id)
	}
	if j := s.Workload.Job; j != nil && j.Status.StartTime != nil && j.Status.CompletionTime == nil && j.Status.Active > 0 {
		stop := j.Status.StartTime.Add(time.Duration(v.n) * time.Second).UTC().Format(time.RFC3339)
		v.warnings = append(v.warnings, fmt.Sprintf("job %s is running: the deadline counts from its start (%s), so this run is stopped at %s if it is still running then",
			j.Name, j.Status.StartTime.UTC().Format(time.RFC3339), stop))
	}
	return v, nil
}

// runningNow names the runs going on, for a reason: e.g. "; job reindex
// is running since 2026-11-28T05:00:00Z".
func runningNow(rs []run) string {
	out := ""
	for _, r := range rs {
		if !r.Finished && !r.Start.IsZero() {
			out += fmt.Sprintf("; job %s is running since %s", r.Job, r.Start.UTC().Format(time.RFC3339))
		}
	}
	return out
}

// backoffLimit is backoffLimit: the user's, else the rule's default 3,
// raised to the most failures an observed run had (a run that failed 4
// times and then succeeded needs 4), and never above the API's default 6
// that the Job runs with today.
func backoffLimit(s *inspect.Snapshot, user int64, given bool) value {
	if given {
		return value{n: user, source: "--set " + id + ".backoff-limit"}
	}
	const apiDefault = 6
	var most run
	for _, r := range runs(s) {
		if r.Failures > most.Failures {
			most = r
		}
	}
	n := defaults["backoff-limit"]
	switch {
	case int64(most.Failures) > n:
		n = min(int64(most.Failures), apiDefault)
		return value{n: n, source: fmt.Sprintf("job %s failed %s in one run; the API's default is %d", most.Job, times(most.Failures), apiDefault)}
	case most.Job != "":
		return value{n: n, source: fmt.Sprintf("default; no observed run failed more than %d times", n)}
	}
	return value{n: n, source: "default; no run observed", warnings: []string{fmt.Sprintf(
		"a run that needs %d to %d tries, as the API's default %d allowed, now fails: give the limit with --set %s.backoff-limit=N if runs are flaky",
		n+2, apiDefault+1, apiDefault, id)}}
}

// ttl is ttlSecondsAfterFinished: the user's, else 86400. A Job that has
// finished is deleted with its pods — and their logs — once the TTL has
// passed since its completionTime: at once when that is already past.
func ttl(s *inspect.Snapshot, user int64, given bool) value {
	v := value{n: defaults["ttl"], source: "default: one day to read its status and logs"}
	if given {
		v = value{n: user, source: "--set " + id + ".ttl"}
	}
	if j := s.Workload.Job; j != nil {
		if end, ok := finishedAt(j); ok {
			at := end.Add(time.Duration(v.n) * time.Second).UTC().Format(time.RFC3339)
			v.warnings = append(v.warnings, fmt.Sprintf("job %s finished at %s: it is deleted with its pods and their logs at %s, "+
				"at once if that time has passed", j.Name, end.UTC().Format(time.RFC3339), at))
		}
	}
	return v
}

// times says how often: "once", "twice", "4 times".
func times(n int32) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// finishedAt is when a Job finished, the time ttlSecondsAfterFinished
// counts from: its completionTime (set on success), else the time of its
// Complete or Failed condition.
func finishedAt(j *batchv1.Job) (time.Time, bool) {
	if j.Status.CompletionTime != nil {
		return j.Status.CompletionTime.Time, true
	}
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}
