package rules_test

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

func statuses(t *testing.T, file string, sel rules.Selection) map[string]rules.Result {
	t.Helper()
	results, err := rules.Evaluate(rulestest.Load(t, file), sel)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]rules.Result{}
	for _, r := range results {
		if r.Status == "" {
			t.Errorf("finding without a status: %+v", r)
		}
		out[r.Rule] = r
	}
	return out
}

// Every finding ends in exactly one stated status.
func TestStatuses(t *testing.T) {
	got := statuses(t, "testdata/annotated.yaml", rules.Selection{Fix: []string{"all"}, Skip: []string{"rollout"}})
	for rule, want := range map[string]struct {
		status rules.Status
		reason string
	}{
		"pdb":             {rules.StatusExempted, "workload annotation harden.kubectl.dev/skip=pdb,probes"},
		"readiness-probe": {rules.StatusExempted, "harden.kubectl.dev/skip"},
		"liveness-probe":  {rules.StatusExempted, "harden.kubectl.dev/skip"},
		"spread":          {rules.StatusExempted, "annotation ignore-check.kube-linter.io/no-anti-affinity"},
		"replicas":        {rules.StatusPlanned, ""},
		"rollout":         {rules.StatusSkipped, "skipped by --skip"},
	} {
		r, ok := got[rule]
		if !ok {
			t.Errorf("%s: no finding", rule)
			continue
		}
		if r.Status != want.status || !strings.Contains(r.Reason, want.reason) {
			t.Errorf("%s: status %s (%s), want %s (%s)", rule, r.Status, r.Reason, want.status, want.reason)
		}
	}
	got = statuses(t, "testdata/annotated.yaml", rules.Selection{Fix: []string{"availability"}})
	if got["replicas"].Status != rules.StatusPlanned || got["rollout"].Status != rules.StatusNotSelected {
		t.Errorf("--fix=availability: replicas %s, rollout %s", got["replicas"].Status, got["rollout"].Status)
	}
}

// The namespace's skip annotation exempts every workload in it.
func TestNamespaceExemption(t *testing.T) {
	got := statuses(t, "testdata/namespace-skip.yaml", rules.Selection{Fix: []string{"all"}})
	if r := got["replicas"]; r.Status != rules.StatusExempted || !strings.Contains(r.Reason, "namespace annotation") {
		t.Errorf("replicas: %s (%s)", r.Status, r.Reason)
	}
}

func TestValidateSelection(t *testing.T) {
	for _, sel := range []rules.Selection{
		{Fix: []string{"all"}}, {Fix: []string{"probes", "pdb"}}, {Skip: []string{"availability"}},
		{Params: map[string]rules.Params{"readiness-probe": {"path": "/ready"}}},
	} {
		if err := rules.ValidateSelection(sel); err != nil {
			t.Errorf("%+v: %v", sel, err)
		}
	}
	for sel, want := range map[*rules.Selection]string{
		{Fix: []string{"nope"}}:                                          `unknown rule "nope"`,
		{Params: map[string]rules.Params{"nope": {"x": "1"}}}:            `unknown rule "nope"`,
		{Params: map[string]rules.Params{"readiness-probe": {"x": "1"}}}: `has no parameter "x" (it has: port, path, period, timeout, failure-threshold)`,
	} {
		if err := rules.ValidateSelection(*sel); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *sel, err, want)
		}
	}
}

func TestScore(t *testing.T) {
	results := []rules.Result{
		{Finding: rules.Finding{Severity: rules.Critical}, Status: rules.StatusSkipped},
		{Finding: rules.Finding{Severity: rules.High}, Status: rules.StatusNeedsHuman},
		{Finding: rules.Finding{Severity: rules.Medium}, Status: rules.StatusFixed},
		{Finding: rules.Finding{Severity: rules.Low}, Status: rules.StatusExempted},
	}
	if got := rules.Score(results); got != 69 { // penalty 45: 100·100/145
		t.Errorf("score %d", got)
	}
	if !rules.Pending(results) || rules.Pending(results[2:]) {
		t.Error("pending: skipped and manual findings are pending, fixed and exempted are not")
	}
}

// A live Job's pod template is immutable: fixes that would change it need a
// human, pointed at the CronJob that owns the Job or at its manifest, while
// fixes of the Job's own mutable fields stay planned.
func TestJobTemplateImmutable(t *testing.T) {
	for file, where := range map[string]string{
		"testdata/job.yaml":         "fix the manifest it is created from",
		"testdata/cronjob-job.yaml": "fix cronjob/nightly instead",
	} {
		s := rulestest.Load(t, file)
		results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		templated, planned := 0, 0
		for _, r := range results {
			if r.Status == rules.StatusPlanned {
				planned++
				for _, c := range r.Fix.Changes {
					if spec, _ := c.Object["spec"].(map[string]any); !c.Create && spec["template"] != nil {
						t.Errorf("%s: %s plans a change of the Job's pod template: %v", file, r.Rule, c.Object)
					}
				}
			}
			if r.Status == rules.StatusNeedsHuman && strings.Contains(r.Reason, "pod template (spec.template) is immutable") {
				templated++
				if !strings.HasSuffix(r.Reason, where) {
					t.Errorf("%s: %s: reason %q, want it to end %q", file, r.Rule, r.Reason, where)
				}
			}
		}
		if templated == 0 {
			t.Errorf("%s: no pod-template fix was turned into needs-human: %+v", file, results)
		}
		if got := statuses(t, file, rules.Selection{Fix: []string{"job"}})["job"]; got.Status != rules.StatusPlanned {
			t.Errorf("%s: the job rule's fix (a mutable Job field) is %s (%s), want planned", file, got.Status, got.Reason)
		}
		if planned == 0 {
			t.Errorf("%s: nothing planned with --fix=all; the Job's mutable fields should be", file)
		}
	}
}

// Only Jobs are concerned: the same fixes on a CronJob's template are fine.
func TestImmutableTemplateOnlyJobs(t *testing.T) {
	s := rulestest.Load(t, "testdata/annotated.yaml")
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, int64(1), append(rules.PodSpecPath(s.Workload), "terminationGracePeriodSeconds")...)
	if why := rules.ImmutableTemplate(s.Workload, &rules.Fix{Changes: []rules.Change{{Object: obj}}}); why != "" {
		t.Errorf("a Deployment's template change: %q", why)
	}
	job := rulestest.Load(t, "testdata/job.yaml")
	meta := rules.WorkloadChange(job.Workload)
	rules.Set(meta, int64(60), "spec", "activeDeadlineSeconds")
	if why := rules.ImmutableTemplate(job.Workload, &rules.Fix{Changes: []rules.Change{{Object: meta}}}); why != "" {
		t.Errorf("a Job's activeDeadlineSeconds: %q", why)
	}
	tpl := rules.WorkloadChange(job.Workload)
	rules.Set(tpl, true, append(rules.PodSpecPath(job.Workload), "automountServiceAccountToken")...)
	if why := rules.ImmutableTemplate(job.Workload, &rules.Fix{Changes: []rules.Change{{Object: tpl}}}); why == "" {
		t.Error("a Job's template change is allowed")
	}
}
