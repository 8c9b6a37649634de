package plan_test

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Every before/after pair gets an RFC 6902 patch that evanphx/json-patch
// applies to before to give exactly after (Patch checks it itself).
func FuzzPatch(f *testing.F) {
	f.Add(`{"a":1,"b":[1,2],"c":{"d":"x"}}`, `{"a":2,"b":[1],"c":{"e/f~":"y"}}`)
	f.Add(`{"l":[{"name":"a"}]}`, `{"l":[{"name":"a","x":1},{"name":"b"}]}`)
	f.Add(`{}`, `{"a":null}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		var before, after map[string]any
		if json.Unmarshal([]byte(a), &before) != nil || json.Unmarshal([]byte(b), &after) != nil || before == nil || after == nil {
			return
		}
		// Kubernetes field names are never empty, and json-patch cannot
		// address an empty key inside another: such inputs are not objects.
		if hasEmptyKey(before) || hasEmptyKey(after) {
			return
		}
		o := &plan.Object{Kind: "Thing", Name: "x", Before: before, After: after}
		if _, err := o.Patch(); err != nil {
			t.Fatalf("%s → %s: %v", a, b, err)
		}
	})
}

// Building a plan from any Deployment never panics, its patches verify,
// and merging a fix is stable: merging twice gives what merging once does.
func FuzzBuildPlan(f *testing.F) {
	f.Add(`{"spec":{"replicas":1,"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"w","image":"i","ports":[{"name":"http","containerPort":80}]}]}}}}`)
	f.Add(`{"spec":{"replicas":3,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"50%"}},"template":{"spec":{"containers":[{"name":"a","livenessProbe":{"periodSeconds":1,"failureThreshold":1}}]}}}}`)
	f.Fuzz(func(t *testing.T, spec string) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(spec), &obj); err != nil || obj == nil {
			return
		}
		obj["apiVersion"], obj["kind"] = "apps/v1", "Deployment"
		obj["metadata"] = map[string]any{"name": "web", "namespace": "shop"}
		w, err := inspect.NewWorkload(&unstructured.Unstructured{Object: obj})
		if err != nil {
			return
		}
		s := &inspect.Snapshot{Workload: w, Cluster: &inspect.Cluster{}}
		results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
		if err != nil {
			return // a bad parameter or an unusable spec is an error, not a panic
		}
		p, err := plan.Build(s, results, plan.DefaultFieldManager)
		if err != nil {
			return
		}
		for _, o := range p.Objects {
			if _, err := o.Patch(); err != nil {
				t.Fatalf("patch: %v", err)
			}
			twice := objmerge.Merge(objmerge.DeepCopy(o.After), o.Set)
			if !objmerge.Contains(o.After, o.Set) || !objmerge.Contains(twice, o.After) {
				t.Fatalf("merging the fix again changes the result")
			}
		}
	})
}

func hasEmptyKey(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if k == "" || hasEmptyKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if hasEmptyKey(e) {
				return true
			}
		}
	}
	return false
}
