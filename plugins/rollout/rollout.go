// Package rollout checks that updates roll out without downtime and can be
// rolled back.
package rollout

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/claims"
)

func init() { rules.Register(Rule{}) }

// Rule is the rollout rule.
type Rule struct{}

const id = "rollout"

// Values the fixes set.
const (
	minReadySeconds      = 10
	revisionHistoryLimit = 10
	maxProgressDeadline  = 1800
)

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Safe rollouts", Category: rules.Rollout, Severity: rules.Medium,
		Kinds: inspect.KindsIn(inspect.RolledOut),
		Why: "An update that takes down several pods at once, counts a pod available the instant it is ready, " +
			"or keeps no old revision turns every release into a risk: capacity drops during the rollout, a " +
			"crash seconds after start goes unnoticed, and `kubectl rollout undo` has nothing to return to.",
		Remediation: "Deployments: RollingUpdate with maxUnavailable 0 and maxSurge 1 when few replicas — but not " +
			"while the pods mount a PersistentVolumeClaim that is not ReadWriteMany or ReadOnlyMany (or whose access " +
			"mode is unknown): the surge pod cannot attach it and the next rollout hangs, so that needs a human; " +
			"minReadySeconds ≈ 10 (each rollout then takes about 10 s longer per pod), a progressDeadlineSeconds that reports stuck rollouts within 30 minutes, " +
			"revisionHistoryLimit ≥ 2. StatefulSets and DaemonSets: RollingUpdate rather than OnDelete, and " +
			"minReadySeconds.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "kube-score/ignore", Value: "deployment-strategy"}, {Annotation: "ignore-check.kube-linter.io/no-rolling-update-strategy"}},
	}
}

// Check reports each rollout setting that risks downtime or rollback.
func (Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	add := func(sev rules.Severity, field, msg, manual string) {
		out = append(out, rules.Finding{Severity: sev, Message: msg, Field: field, NeedsHuman: manual})
	}
	w := s.Workload
	var minReady int32
	var history *int32
	switch {
	case w.Deployment != nil:
		spec := w.Deployment.Spec
		minReady, history = spec.MinReadySeconds, spec.RevisionHistoryLimit
		replicas := w.Replicas()
		if spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			add(rules.Medium, "spec.strategy", "strategy Recreate stops every pod before starting new ones: each rollout is an outage",
				"switch to RollingUpdate unless the application cannot run two versions at once (e.g. a ReadWriteOnce volume)")
		} else if ru := spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil && replicas > 0 {
			n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, int(replicas), false)
			if err == nil && n > 0 && (replicas <= 3 || n*2 >= int(replicas)) {
				add(rules.Medium, "spec.strategy.rollingUpdate", fmt.Sprintf("maxUnavailable %s lets a rollout take down %d of %d pods at once", ru.MaxUnavailable.String(), n, replicas),
					surgeHangs(s))
			}
		}
		if d := spec.ProgressDeadlineSeconds; d != nil && *d > maxProgressDeadline {
			add(rules.Low, "spec.progressDeadlineSeconds", fmt.Sprintf("progressDeadlineSeconds %d: a stuck rollout is reported only after %d minutes", *d, *d/60), "")
		}
	case w.StatefulSet != nil:
		spec := w.StatefulSet.Spec
		minReady, history = spec.MinReadySeconds, spec.RevisionHistoryLimit
		if spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
			add(rules.Medium, "spec.updateStrategy", "updateStrategy OnDelete: pods keep the old spec until someone deletes them",
				"switch to RollingUpdate unless the application's members must be restarted by hand in a set order")
		}
	case w.DaemonSet != nil:
		spec := w.DaemonSet.Spec
		minReady, history = spec.MinReadySeconds, spec.RevisionHistoryLimit
		if spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			add(rules.Medium, "spec.updateStrategy", "updateStrategy OnDelete: pods keep the old spec until someone deletes them",
				"switch to RollingUpdate unless node agents must be restarted by hand")
		}
	}
	if minReady == 0 {
		add(rules.Low, "spec.minReadySeconds", "minReadySeconds 0: a pod that crashes seconds after becoming ready still counts as a successful rollout step", "")
	}
	if history != nil && *history < 2 {
		add(rules.Medium, "spec.revisionHistoryLimit", fmt.Sprintf("revisionHistoryLimit %d: kubectl rollout undo has no earlier revision to return to", *history), "")
	}
	return out
}

// surgeHangs is why maxUnavailable 0, maxSurge 1 cannot be written for
// this Deployment: its pods mount a claim that only one node can attach
// (see claims.Unshareable), so the surge pod, scheduled on another node,
// never starts, no old pod is stopped for it, and the next release's
// rollout hangs. "" when every claim is shareable.
func surgeHangs(s *inspect.Snapshot) string {
	cs := claims.Unshareable(s)
	if len(cs) == 0 {
		return ""
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Describe())
	}
	return "the pods mount " + strings.Join(names, ", ") + ": with maxUnavailable 0 and maxSurge 1 the new pod waits for a " +
		"volume the old pods hold (one node attaches a ReadWriteOnce claim, one pod a ReadWriteOncePod one) while no old " +
		"pod stops, and the next rollout hangs; keep maxSurge 0 (or Recreate) " +
		"while the pods share a ReadWriteOnce claim, or give each pod its own claim (a StatefulSet with volumeClaimTemplates)"
}

// Fix sets the one field group the finding is about.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, _ rules.Params) (*rules.Fix, error) {
	obj := rules.WorkloadChange(s.Workload)
	var desc string
	switch f.Field {
	case "spec.strategy.rollingUpdate":
		rules.Set(obj, map[string]any{"maxUnavailable": int64(0), "maxSurge": int64(1)}, "spec", "strategy", "rollingUpdate")
		desc = "roll out with maxUnavailable 0, maxSurge 1"
	case "spec.progressDeadlineSeconds":
		rules.Set(obj, int64(600), "spec", "progressDeadlineSeconds")
		desc = "set progressDeadlineSeconds to 600"
	case "spec.minReadySeconds":
		rules.Set(obj, int64(minReadySeconds), "spec", "minReadySeconds")
		desc = fmt.Sprintf("set minReadySeconds to %d (a new pod counts as available %d s after it is ready: each rollout "+
			"takes about %d s longer per pod)", minReadySeconds, minReadySeconds, minReadySeconds)
	case "spec.revisionHistoryLimit":
		rules.Set(obj, int64(revisionHistoryLimit), "spec", "revisionHistoryLimit")
		desc = fmt.Sprintf("keep %d revisions", revisionHistoryLimit)
	default:
		return nil, rules.NeedsHumanf("no automatic fix for %s", f.Field)
	}
	return &rules.Fix{Description: desc, Changes: []rules.Change{{Object: obj}}}, nil
}
