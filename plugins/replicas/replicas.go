// Package replicas flags workloads that run a single replica.
package replicas

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the replicas rule.
type Rule struct{}

const id = "replicas"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "At least two replicas", Category: rules.Availability, Severity: rules.High,
		Kinds: inspect.KindsIn(inspect.Replicated),
		Why: "A single replica means every node drain, eviction, crash or rollout takes the workload " +
			"down: there is no other pod to serve while it is replaced.",
		Remediation: "Run at least 2 replicas. When a HorizontalPodAutoscaler targets the workload, raise its " +
			"minReplicas instead of spec.replicas, which the HPA owns. Only where more copies are known to be safe: " +
			"StatefulSets, and workloads with strategy Recreate, a volume that pods on other nodes cannot share " +
			"(a PersistentVolumeClaim that is not ReadWriteMany or ReadOnlyMany, or whose access mode is unknown; " +
			"hostPath; a disk that attaches to one node), an image or name that says data store (redis, postgres, " +
			"mysql, mariadb, mongo, etcd, zookeeper, rabbitmq, elasticsearch, kafka…) or leader (master, primary, " +
			"leader, writer), or pods holding a Lease (leader election) are left to a human, with the reason. " +
			"When more copies are safe after all, say so with --set replicas.singleton=ok.",
		Fixable: true,
		Params: []rules.Param{
			{Name: "count", Description: "replicas (or HPA minReplicas) to set; default 2. It does not skip the checks " +
				"that more copies are safe (see singleton)"},
			{Name: "singleton", Description: "ok: more copies of this workload are safe, although harden found a reason " +
				"to doubt it (data store, leader, Recreate, unshared volume, Lease); the reasons stay in the fix's warnings"},
		},
		OptOuts:  []rules.OptOut{{Annotation: "polaris.fairwinds.com/deploymentMissingReplicas-exempt"}, {Annotation: "kube-score/ignore", Value: "deployment-replicas"}},
		FixOrder: -10,
	}
}

// Check reports fewer than 2 replicas (or an HPA minimum below 2). A
// workload scaled to 0 on purpose is left alone. The message names what
// makes more copies doubtful (copyRisks), so that it shows before any fix
// is asked for.
func (Rule) Check(s *inspect.Snapshot) []rules.Finding {
	finding := func(msg, field, manual string) []rules.Finding {
		return []rules.Finding{{Message: msg, Field: field, NeedsHuman: manual}}
	}
	if len(s.HPAs) > 0 {
		h := s.HPAs[0]
		min := int32(1)
		if h.Spec.MinReplicas != nil {
			min = *h.Spec.MinReplicas
		}
		if min < 2 {
			return finding(fmt.Sprintf("HorizontalPodAutoscaler %s lets it scale down to %d replica", h.Name, min)+doubts(s),
				"minReplicas", "")
		}
		return nil
	}
	n := s.Workload.Replicas()
	if n < 0 || n >= 2 || n == 0 {
		return nil
	}
	if s.Workload.StatefulSet != nil {
		return finding("runs 1 replica: a node drain, eviction or crash takes it down", "spec.replicas",
			"a StatefulSet's extra replicas are new members with their own volumes; only the application can tell "+
				"whether it supports that (kubectl scale sts/"+s.Workload.Name()+" --replicas=N)")
	}
	return finding("runs 1 replica: a node drain, eviction or crash takes it down"+doubts(s), "spec.replicas", "")
}

// doubts is the end of a finding's message that names what makes more
// copies doubtful, "" when nothing does.
func doubts(s *inspect.Snapshot) string {
	risks := copyRisks(s)
	if len(risks) == 0 {
		return ""
	}
	return "; more copies may not be safe: " + shorts(risks)
}

func shorts(risks []risk) string {
	var out []string
	for _, r := range risks {
		out = append(out, r.Short)
	}
	return strings.Join(out, ", ")
}

// Fix sets spec.replicas, or the HPA's minReplicas, to count (default 2).
// When copyRisks finds a reason to doubt that more copies are safe, the
// finding needs a human (rules.NeedsHumanf with every reason and the way on)
// unless the user said singleton=ok; the reasons then stay in the fix's
// description and warnings. Errors: count not a number ≥ 2, singleton not
// "ok".
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	count, source := int64(2), "the rule's default, --set replicas.count=N"
	if v, ok := p["count"]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 2 {
			return nil, fmt.Errorf("count must be a number ≥ 2, got %q", v)
		}
		count, source = n, "from --set replicas.count"
	}
	v, declared := p["singleton"]
	if declared && v != "ok" {
		return nil, fmt.Errorf("singleton must be ok (more copies are safe), got %q", v)
	}
	risks := copyRisks(s)
	if len(risks) > 0 && !declared {
		return nil, rules.NeedsHumanf("%s", humanReason(s, risks))
	}
	var fix *rules.Fix
	if len(s.HPAs) > 0 {
		h := s.HPAs[0]
		obj := rules.Identity("autoscaling/v2", "HorizontalPodAutoscaler", h.Namespace, h.Name)
		rules.Set(obj, count, "spec", "minReplicas")
		fix = &rules.Fix{Description: fmt.Sprintf("set minReplicas of HorizontalPodAutoscaler %s to %d (%s)", h.Name, count, source)}
		if int64(h.Spec.MaxReplicas) < count {
			rules.Set(obj, count, "spec", "maxReplicas")
			fix.Description += fmt.Sprintf(", and maxReplicas %d → %d (never below minReplicas)", h.Spec.MaxReplicas, count)
		}
		fix.Changes = []rules.Change{{Object: obj}}
	} else {
		obj := rules.WorkloadChange(s.Workload)
		rules.Set(obj, count, "spec", "replicas")
		fix = &rules.Fix{Description: fmt.Sprintf("set spec.replicas to %d (%s)", count, source), Changes: []rules.Change{{Object: obj}}}
	}
	if len(risks) > 0 {
		fix.Description += "; more copies declared safe with --set replicas.singleton=ok despite: " + shorts(risks)
		for _, r := range risks {
			fix.Warnings = append(fix.Warnings, "declared safe with --set replicas.singleton=ok: "+r.Why)
		}
	}
	if s.LeasesUnread() != "" {
		fix.Warnings = append(fix.Warnings, "whether its pods hold a leader-election Lease is unknown: "+s.LeasesUnread())
	}
	return fix, nil
}

// humanReason is a needs-human reason: every risk, then how to say that
// more copies are safe after all.
func humanReason(s *inspect.Snapshot, risks []risk) string {
	var whys []string
	for _, r := range risks {
		whys = append(whys, r.Why)
	}
	hint := ""
	if len(s.HPAs) > 0 && s.HPAs[0].Spec.MaxReplicas >= 2 {
		hint = fmt.Sprintf(" (HorizontalPodAutoscaler %s may already scale it up to %d)", s.HPAs[0].Name, s.HPAs[0].Spec.MaxReplicas)
	}
	return fmt.Sprintf("more copies are not known to be safe: %s. If they are safe after all%s: kubectl harden %s -n %s --fix=replicas --set replicas.singleton=ok",
		strings.Join(whys, "; "), hint, s.Workload.Ref(), s.Workload.Namespace())
}
