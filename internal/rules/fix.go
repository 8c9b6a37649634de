package rules

import (
	"encoding/json"
	"fmt"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
)

// Change sets some fields of one object. Object is a partial object in
// server-side apply form: apiVersion, kind, metadata.name (and namespace)
// plus only the fields the fix owns — nothing else is touched.
type Change struct {
	Object map[string]any
	// Create marks a companion object harden creates (a PDB, a
	// NetworkPolicy); undo deletes it.
	Create bool
}

// Fix is what resolving one finding changes. Reports show its
// description and warnings (JSON "fix": {"description", "warnings"}); the
// changes are the plan's.
type Fix struct {
	// Description says what the fix does and where each number comes
	// from, e.g. "set requests.cpu 200m (LimitRange defaults defaultRequest)".
	Description string   `json:"description"`
	Changes     []Change `json:"-"`
	// Warnings are risks the user should read before applying.
	Warnings []string `json:"warnings,omitempty"`
}

// Identity returns a partial object naming the object and nothing else.
func Identity(apiVersion, kind, namespace, name string) map[string]any {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
}

// WorkloadChange starts a change to the workload itself.
func WorkloadChange(w *inspect.Workload) map[string]any {
	return Identity(w.Object.GetAPIVersion(), w.Kind(), w.Namespace(), w.Name())
}

// PodSpecPath is the path of the pod spec inside the workload.
func PodSpecPath(w *inspect.Workload) []string {
	return append(w.PodTemplatePath(), "spec")
}

// Set puts value at path in obj, creating maps on the way.
func Set(obj map[string]any, value any, path ...string) {
	m := obj
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = value
}

// ToMap turns a typed API struct into its JSON map form.
func ToMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("rules: marshal %T: %v", v, err))
	}
	var m map[string]any
	// apimachinery's json keeps integers int64, as in unstructured objects.
	if err := utiljson.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("rules: unmarshal %T: %v", v, err))
	}
	return m
}

// Merge merges one partial object into another, as server-side apply
// merges them.
func Merge(dst, src map[string]any) map[string]any { return objmerge.Merge(dst, src) }
