package rules

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
)

// Project returns a copy of the snapshot as it will be once fix is
// applied: the workload, its HPAs, and the companions it creates.
func Project(s *inspect.Snapshot, fix *Fix) (*inspect.Snapshot, error) {
	out := *s
	for _, c := range fix.Changes {
		kind, _, _ := unstructured.NestedString(c.Object, "kind")
		name, _, _ := unstructured.NestedString(c.Object, "metadata", "name")
		switch {
		case kind == out.Workload.Kind() && name == out.Workload.Name():
			merged := objmerge.Merge(objmerge.DeepCopy(out.Workload.Object.Object), c.Object)
			w, err := inspect.NewWorkload(&unstructured.Unstructured{Object: merged})
			if err != nil {
				return nil, err
			}
			out.Workload = w
		case kind == "HorizontalPodAutoscaler":
			hpas := append([]autoscalingv2.HorizontalPodAutoscaler{}, out.HPAs...)
			for i := range hpas {
				if hpas[i].Name == name {
					if err := mergeTyped(&hpas[i], c.Object); err != nil {
						return nil, err
					}
				}
			}
			out.HPAs = hpas
		case kind == "PodDisruptionBudget" && c.Create:
			var pdb policyv1.PodDisruptionBudget
			if err := mergeTyped(&pdb, c.Object); err != nil {
				return nil, err
			}
			out.PDBs = append(append([]policyv1.PodDisruptionBudget{}, out.PDBs...), pdb)
		case kind == "NetworkPolicy" && c.Create:
			var np networkingv1.NetworkPolicy
			if err := mergeTyped(&np, c.Object); err != nil {
				return nil, err
			}
			out.NetworkPolicies = append(append([]networkingv1.NetworkPolicy{}, out.NetworkPolicies...), np)
		default:
			return nil, fmt.Errorf("cannot project a change to %s/%s", kind, name)
		}
	}
	return &out, nil
}

// mergeTyped merges a partial object into a typed one.
func mergeTyped(obj any, partial map[string]any) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(objmerge.Merge(m, partial), obj)
}
