// Package job checks that Jobs and CronJobs end, retry a bounded number of
// times, clean up after themselves and do not pile up.
package job

import (
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the job rule.
type Rule struct{}

const id = "job"

// Defaults the fixes set.
var defaults = map[string]int64{"active-deadline": 3600, "backoff-limit": 3, "ttl": 86400, "starting-deadline": 600}

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Bounded Jobs and CronJobs", Category: rules.Rollout, Severity: rules.Medium,
		Kinds: []string{"Job", "CronJob"},
		Why: "A Job without activeDeadlineSeconds can hang forever holding its resources; without " +
			"backoffLimit a failing one retries six times by default; finished Jobs without " +
			"ttlSecondsAfterFinished pile up. A CronJob that allows concurrent runs stacks slow runs on top of " +
			"each other, and one without startingDeadlineSeconds stops scheduling after 100 missed runs.",
		Remediation: "Set activeDeadlineSeconds, backoffLimit and ttlSecondsAfterFinished on Jobs (a CronJob's " +
			"jobTemplate); set concurrencyPolicy: Forbid (or Replace) and startingDeadlineSeconds on CronJobs.",
		Fixable: true,
		Params: []rules.Param{{Name: "active-deadline", Description: "activeDeadlineSeconds; default 3600"}, {Name: "backoff-limit", Description: "backoffLimit; default 3"},
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
		out = append(out, rules.Finding{Rule: id, Severity: sev, Category: rules.Rollout, Field: field, Message: msg})
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
		}
		if cj.Spec.StartingDeadlineSeconds == nil {
			add(rules.Low, "starting-deadline", "no startingDeadlineSeconds: after 100 missed schedules the CronJob stops starting runs")
		}
	} else if js.TTLSecondsAfterFinished == nil {
		add(rules.Low, "ttl", "no ttlSecondsAfterFinished: the finished Job and its pods stay until deleted by hand")
	}
	return out
}

// Fix sets the one field the finding names.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	_, path := spec(s.Workload)
	obj := rules.WorkloadChange(s.Workload)
	if f.Field == "concurrency" {
		rules.Set(obj, string(batchv1.ForbidConcurrent), "spec", "concurrencyPolicy")
		return &rules.Fix{Description: "forbid concurrent runs", Changes: []rules.Change{{Object: obj}}}, nil
	}
	n := defaults[f.Field]
	if v, ok := p[f.Field]; ok {
		parsed, err := strconv.ParseInt(v, 10, 64)
		if err != nil || parsed < 0 {
			return nil, fmt.Errorf("%s must be a number ≥ 0, got %q", f.Field, v)
		}
		n = parsed
	}
	field := map[string][]string{
		"active-deadline":   append(path, "activeDeadlineSeconds"),
		"backoff-limit":     append(path, "backoffLimit"),
		"ttl":               append(path, "ttlSecondsAfterFinished"),
		"starting-deadline": {"spec", "startingDeadlineSeconds"},
	}[f.Field]
	rules.Set(obj, n, field...)
	return &rules.Fix{Description: fmt.Sprintf("set %s to %d", field[len(field)-1], n), Changes: []rules.Change{{Object: obj}}}, nil
}
