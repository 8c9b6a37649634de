package plan_test

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// A later run for other fixes keeps the fields harden owns from earlier
// runs in its apply configuration: server-side apply would otherwise remove
// them.
func TestBuildKeepsOwnedFields(t *testing.T) {
	s := rulestest.Load(t, "testdata/owned.yaml")
	results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"replicas"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, results, plan.DefaultFieldManager)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != 1 {
		t.Fatalf("%d objects, want 1", len(p.Objects))
	}
	o := p.Objects[0]
	port, found, _ := unstructured.NestedSlice(o.Apply, "spec", "template", "spec", "containers")
	if !found || len(port) != 1 || !strings.Contains(plan.YAML(o.Apply), "readinessProbe") {
		t.Errorf("apply configuration lost the owned readiness probe:\n%s", plan.YAML(o.Apply))
	}
	if strings.Contains(plan.YAML(o.Apply), "image:") {
		t.Errorf("apply configuration carries a field another manager owns:\n%s", plan.YAML(o.Apply))
	}
	if r, _, _ := unstructured.NestedInt64(o.Apply, "spec", "replicas"); r != 2 {
		t.Errorf("replicas %d in apply, want 2", r)
	}
	want := "--- live/shop/deployment.apps/web\n+++ hardened/shop/deployment.apps/web\n@@ -4,7 +4,7 @@\n   name: web\n   namespace: shop\n spec:\n-  replicas: 1\n+  replicas: 2\n"
	if d := o.Diff(); !strings.HasPrefix(d, want) {
		t.Errorf("diff:\n%s\nwant prefix:\n%s", d, want)
	}
	ops, err := o.Patch()
	if err != nil {
		t.Fatal(err)
	}
	if wantOps := []plan.Operation{{Op: "replace", Path: "/spec/replicas", Value: int64(2)}}; !reflect.DeepEqual(ops, wantOps) {
		t.Errorf("patch %+v, want %+v", ops, wantOps)
	}
}

// Nothing to fix, nothing planned; and a fix already in place plans nothing.
func TestBuildIdempotent(t *testing.T) {
	s := rulestest.Load(t, "testdata/owned.yaml")
	results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"readiness-probe"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(s, results, plan.DefaultFieldManager)
	if err != nil || !p.Empty() {
		t.Errorf("plan should be empty (%v):\n%s", err, p.Diff())
	}
}
