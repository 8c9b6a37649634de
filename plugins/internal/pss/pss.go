// Package pss evaluates a pod template against the Pod Security Standards
// with k8s.io/pod-security-admission's own checks — the code the API
// server's admission runs — one check at a time, so each violation can be
// reported by the rule that fixes it.
package pss

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Violation is one failed check.
type Violation struct {
	Check  string    // the check's ID, e.g. "allowPrivilegeEscalation"
	Level  api.Level // baseline or restricted
	Reason string    // e.g. "allowPrivilegeEscalation != false"
	Detail string    // e.g. `container "web" must set securityContext.allowPrivilegeEscalation=false`
}

// Message is the violation as the API server words it.
func (v Violation) Message() string {
	if v.Detail == "" {
		return v.Reason
	}
	return v.Reason + " (" + v.Detail + ")"
}

type check struct {
	id    string
	level api.Level
	fn    policy.CheckPodFn
}

// checks are the latest version of every default check.
var checks = func() []check {
	var out []check
	for _, c := range policy.DefaultChecks() {
		v := c.Versions[len(c.Versions)-1]
		out = append(out, check{id: string(c.ID), level: c.Level, fn: v.CheckPod})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}()

// Evaluate runs every check of the restricted level (which includes
// baseline) on the workload's pod template.
func Evaluate(s *inspect.Snapshot) []Violation { return evaluate(s, nil) }

// Find returns the violations of the given checks, running only those:
// each rule asks for one or two of them, on every workload.
func Find(s *inspect.Snapshot, ids ...string) []Violation { return evaluate(s, ids) }

// evaluate runs the checks ids names (every one for nil), in their order.
func evaluate(s *inspect.Snapshot, ids []string) []Violation {
	t := s.Workload.PodTemplate()
	meta := metav1.ObjectMeta{Labels: t.Labels, Annotations: t.Annotations}
	var out []Violation
	for _, c := range checks {
		if ids != nil && !slices.Contains(ids, c.id) {
			continue
		}
		if r := c.fn(&meta, &t.Spec); !r.Allowed {
			out = append(out, Violation{Check: c.id, Level: c.level, Reason: r.ForbiddenReason, Detail: r.ForbiddenDetail})
		}
	}
	return out
}

// IDs lists every check ID, for the catch-all rule.
func IDs() []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.id)
	}
	return out
}

// SecurityContextChange sets securityContext fields of the pod template's
// containers, init containers first (fields returns nil to leave one
// alone), as one workload change (rules.ContainersChange). It returns
// false when no container needs it.
func SecurityContextChange(s *inspect.Snapshot, fields func(rules.Container) map[string]any) (rules.Change, []string, bool) {
	return rules.ContainersChange(s, rules.Containers(s), func(c rules.Container) map[string]any {
		if f := fields(c); f != nil {
			return map[string]any{"securityContext": f}
		}
		return nil
	})
}

// reportRule is a rule that reports Pod Security Standards violations no
// automatic fix can remove safely.
type reportRule struct {
	meta   rules.Meta
	checks []string
	manual string
}

// ReportRule builds a report-only rule over some checks; manual says what
// a human should do.
func ReportRule(meta rules.Meta, manual string, checkIDs ...string) rules.Rule {
	return reportRule{meta: meta, checks: checkIDs, manual: manual}
}

func (r reportRule) Meta() rules.Meta { return r.meta }

func (r reportRule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, v := range Find(s, r.checks...) {
		out = append(out, rules.Finding{Message: "Pod Security Standards (" + string(v.Level) + "): " + v.Message(), NeedsHuman: r.manual})
	}
	return out
}

func (r reportRule) Fix(*inspect.Snapshot, rules.Finding, rules.Params) (*rules.Fix, error) {
	return nil, rules.NeedsHumanf("%s", r.manual)
}

// Kinds every pod-security rule applies to.
var Kinds = inspect.KindsIn(inspect.Workloads)

// Satisfies reports whether a pod passes every check of the level, the
// way admission decides it (restricted checks override their baseline
// counterparts).
func Satisfies(meta *metav1.ObjectMeta, spec *corev1.PodSpec, level api.Level) bool {
	if level == api.LevelPrivileged {
		return true
	}
	return allAllowed(evaluator.EvaluatePod(api.LevelVersion{Level: level, Version: api.LatestVersion()}, meta, spec))
}

func allAllowed(results []policy.CheckResult) bool {
	for _, r := range results {
		if !r.Allowed {
			return false
		}
	}
	return true
}

var evaluator = func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic("pss: " + err.Error())
	}
	return e
}()
