// Package replicas flags workloads that run a single replica.
package replicas

import (
	"fmt"
	"strconv"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

func init() { rules.Register(Rule{}) }

// Rule is the replicas rule.
type Rule struct{}

const id = "replicas"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "At least two replicas", Category: rules.Availability, Severity: rules.High,
		Kinds: []string{"Deployment", "StatefulSet"},
		Why: "A single replica means every node drain, eviction, crash or rollout takes the workload " +
			"down: there is no other pod to serve while it is replaced.",
		Remediation: "Run at least 2 replicas. When a HorizontalPodAutoscaler targets the workload, raise its " +
			"minReplicas instead of spec.replicas, which the HPA owns. StatefulSets and pods sharing a " +
			"ReadWriteOnce volume are left to a human: only the application knows if it can run twice.",
		Fixable:  true,
		Params:   []rules.Param{{Name: "count", Description: "replicas (or HPA minReplicas) to set; default 2"}},
		OptOuts:  []rules.OptOut{{Annotation: "polaris.fairwinds.com/deploymentMissingReplicas-exempt"}, {Annotation: "kube-score/ignore", Value: "deployment-replicas"}},
		FixOrder: -10,
	}
}

// Check reports fewer than 2 replicas (or an HPA minimum below 2). A
// workload scaled to 0 on purpose is left alone.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	m := r.Meta()
	finding := func(msg, field, manual string) []rules.Finding {
		return []rules.Finding{{Rule: id, Severity: m.Severity, Category: m.Category, Message: msg, Field: field, Manual: manual}}
	}
	if len(s.HPAs) > 0 {
		h := s.HPAs[0]
		min := int32(1)
		if h.Spec.MinReplicas != nil {
			min = *h.Spec.MinReplicas
		}
		if min < 2 {
			return finding(fmt.Sprintf("HorizontalPodAutoscaler %s lets it scale down to %d replica", h.Name, min),
				"minReplicas", "")
		}
		return nil
	}
	n := s.Workload.Replicas()
	if n < 0 || n >= 2 || n == 0 {
		return nil
	}
	msg := "runs 1 replica: a node drain, eviction or crash takes it down"
	manual := ""
	switch {
	case s.Workload.StatefulSet != nil:
		manual = "a StatefulSet's extra replicas are new members with their own volumes; only the application can tell " +
			"whether it supports that (kubectl scale sts/" + s.Workload.Name() + " --replicas=N)"
	case rwoClaim(s) != "":
		manual = "its pods mount PersistentVolumeClaim " + rwoClaim(s) + ", which a second pod on another node cannot attach"
	}
	return finding(msg, "spec.replicas", manual)
}

// rwoClaim names a claim the pod template mounts, which a second replica
// would have to share.
func rwoClaim(s *inspect.Snapshot) string {
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		if v.PersistentVolumeClaim != nil && !v.PersistentVolumeClaim.ReadOnly {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

// Fix sets spec.replicas, or the HPA's minReplicas.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	count := int64(2)
	if v, ok := p["count"]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 2 {
			return nil, fmt.Errorf("count must be a number ≥ 2, got %q", v)
		}
		count = n
	}
	if len(s.HPAs) > 0 {
		h := s.HPAs[0]
		obj := rules.Identity("autoscaling/v2", "HorizontalPodAutoscaler", h.Namespace, h.Name)
		rules.Set(obj, count, "spec", "minReplicas")
		fix := &rules.Fix{Description: fmt.Sprintf("set minReplicas of HorizontalPodAutoscaler %s to %d", h.Name, count)}
		if int64(h.Spec.MaxReplicas) < count {
			rules.Set(obj, count, "spec", "maxReplicas")
		}
		fix.Changes = []rules.Change{{Object: obj}}
		return fix, nil
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, count, "spec", "replicas")
	return &rules.Fix{Description: fmt.Sprintf("set spec.replicas to %d", count), Changes: []rules.Change{{Object: obj}}}, nil
}
