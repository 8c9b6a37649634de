package rules

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
)

// Project returns a copy of the snapshot as it will be once fix is
// applied: the workload, the related objects fixes change in place (its
// HPAs), and the companions it creates (inspect.KindTable says which).
func Project(s *inspect.Snapshot, fix *Fix) (*inspect.Snapshot, error) {
	out := *s
	for _, c := range fix.Changes {
		kind, _, _ := unstructured.NestedString(c.Object, "kind")
		name, _, _ := unstructured.NestedString(c.Object, "metadata", "name")
		if kind == out.Workload.Kind() && name == out.Workload.Name() {
			w, err := out.Workload.Merged(c.Object)
			if err != nil {
				return nil, err
			}
			out.Workload = w
			continue
		}
		if err := out.ProjectRelated(kind, name, c.Create, func(into any) error { return mergeTyped(into, c.Object) }); err != nil {
			return nil, err
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
