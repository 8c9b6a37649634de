package plan_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// Build labels every object a fix creates as harden's (undo deletes only
// those), whatever the rule wrote, and no object it changes in place.
func TestBuildLabelsCompanions(t *testing.T) {
	s := rulestest.Load(t, "testdata/owned.yaml")
	pdb := rules.Identity("policy/v1", "PodDisruptionBudget", "shop", "web")
	rules.Set(pdb, int64(1), "spec", "maxUnavailable")
	np := rules.Identity("networking.k8s.io/v1", "NetworkPolicy", "shop", "web")
	// A rule's own labels stay; the managed-by label is plan's.
	rules.Set(np, map[string]any{"team": "a", plan.ManagedByLabel: "someone"}, "metadata", "labels")
	workload := rules.Identity("apps/v1", "Deployment", "shop", "web")
	rules.Set(workload, int64(2), "spec", "replicas")
	results := []rules.Result{{Finding: rules.Finding{Rule: "test"}, Status: rules.StatusPlanned, Fix: &rules.Fix{
		Changes: []rules.Change{{Object: workload}, {Object: pdb, Create: true}, {Object: np, Create: true}}}}}

	p, err := plan.Build(s, results, "someone-else")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != 3 {
		t.Fatalf("%d objects, want 3", len(p.Objects))
	}
	for _, o := range p.Objects {
		for what, obj := range map[string]map[string]any{"apply": o.Apply, "after": o.After, "set": o.Set} {
			got, _, _ := unstructured.NestedString(obj, "metadata", "labels", plan.ManagedByLabel)
			want := ""
			if o.Create {
				want = "kubectl-harden"
			}
			if got != want {
				t.Errorf("%s %s: %s=%q, want %q", o.Ref(), what, plan.ManagedByLabel, got, want)
			}
		}
	}
	if team, _, _ := unstructured.NestedString(p.Objects[2].Apply, "metadata", "labels", "team"); team != "a" {
		t.Errorf("%s lost its label team=a:\n%s", p.Objects[2].Ref(), plan.YAML(p.Objects[2].Apply))
	}
	if by, _, _ := unstructured.NestedString(np, "metadata", "labels", plan.ManagedByLabel); by != "someone" {
		t.Errorf("Build changed the rule's own change: %s=%q", plan.ManagedByLabel, by)
	}
}
