package engine

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

func planOf(t *testing.T, snap *inspect.Snapshot, sel rules.Selection) (map[string]rules.Result, *plan.Plan) {
	t.Helper()
	e := &Engine{Applier: &apply.Applier{FieldManager: plan.DefaultFieldManager}}
	results, p, err := e.Plan(snap, sel)
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]rules.Result{}
	for _, r := range results {
		if _, ok := byRule[r.Rule]; !ok {
			byRule[r.Rule] = r
		}
	}
	return byRule, p
}

func touches(p *plan.Plan, rule string) bool {
	for _, o := range p.Objects {
		for _, r := range o.Rules {
			if r == rule {
				return true
			}
		}
	}
	return false
}

// A manifest applier's replicas are left to it; the fixes that conflict
// with nobody are planned, and the PDB that needed the replicas is not.
func TestPlanHoldsManifestFields(t *testing.T) {
	snap := rulestest.Load(t, "testdata/applied.yaml")
	got, p := planOf(t, snap, rules.Selection{Fix: []string{"all"}})
	r := got["replicas"]
	if r.Status != rules.StatusConflict || len(r.Owners) != 1 ||
		r.Owners[0] != (owners.Conflict{Field: ".spec.replicas", Manager: "kubectl-client-side-apply", Class: owners.Manifest}) {
		t.Fatalf("replicas: %+v", r)
	}
	if touches(p, "replicas") {
		t.Error("a held fix is in the plan")
	}
	if got["readiness-probe"].Status != rules.StatusPlanned || !touches(p, "readiness-probe") {
		t.Errorf("readiness-probe conflicts with nobody and is not planned: %+v", got["readiness-probe"])
	}
	if got["pdb"].Status == rules.StatusPlanned {
		t.Errorf("a PDB is planned for 1 replica: %+v", got["pdb"])
	}
	for _, o := range p.Objects {
		if o.Force {
			t.Errorf("%s is forced without a reason", o.Ref())
		}
	}
}

// Forcing one rule takes its fields, and only that rule is forced.
func TestPlanForcesOneRule(t *testing.T) {
	snap := rulestest.Load(t, "testdata/applied.yaml")
	got, p := planOf(t, snap, rules.Selection{Fix: []string{"all"}, Force: []string{"replicas"}})
	if got["replicas"].Status != rules.StatusPlanned || len(got["replicas"].Owners) != 1 || !touches(p, "replicas") {
		t.Fatalf("forced replicas: %+v", got["replicas"])
	}
	if got["pdb"].Status != rules.StatusPlanned {
		t.Errorf("pdb after the forced replicas: %+v", got["pdb"])
	}
	if !p.Objects[0].Force {
		t.Error("the workload's apply does not force")
	}
}

// A one-off edit's field is taken by default.
func TestPlanTakesOneOffEdits(t *testing.T) {
	snap := rulestest.Load(t, "testdata/applied.yaml")
	mf := snap.Workload.Object.GetManagedFields()
	mf[0].Manager = "kubectl-scale"
	snap.Workload.Object.SetManagedFields(mf)
	got, p := planOf(t, snap, rules.Selection{Fix: []string{"all"}})
	if got["replicas"].Status != rules.StatusPlanned || got["replicas"].Owners[0].Class != owners.OneOff {
		t.Fatalf("replicas: %+v", got["replicas"])
	}
	if !p.Objects[0].Force {
		t.Error("taking a one-off edit's field needs a forced apply")
	}
}

// A GitOps-managed workload is never written live unless forced.
func TestPlanHoldsGitOpsWorkloads(t *testing.T) {
	for name, mark := range map[string]func(*metav1.ObjectMeta){
		"argo": func(m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/web"}
		},
		"helm": func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app.kubernetes.io/managed-by": "Helm"} },
	} {
		t.Run(name, func(t *testing.T) {
			snap := rulestest.Load(t, "testdata/applied.yaml")
			var m metav1.ObjectMeta
			mark(&m)
			snap.Workload.Object.SetAnnotations(m.Annotations)
			snap.Workload.Object.SetLabels(m.Labels)
			got, p := planOf(t, snap, rules.Selection{Fix: []string{"all"}})
			if !p.Empty() {
				t.Errorf("a managed workload is planned: %d objects", len(p.Objects))
			}
			if got["readiness-probe"].Status != rules.StatusConflict {
				t.Errorf("readiness-probe: %+v", got["readiness-probe"])
			}
			_, p = planOf(t, snap, rules.Selection{Fix: []string{"all"}, Force: []string{"all"}})
			if p.Empty() {
				t.Error("--force-conflicts plans nothing")
			}
		})
	}
}

// A fix is held back finding by finding: the CronJob's concurrencyPolicy
// is the manifest's, its other fields are nobody's and are planned.
func TestPlanHoldsPerFinding(t *testing.T) {
	snap := rulestest.Load(t, "testdata/cronjob.yaml")
	e := &Engine{Applier: &apply.Applier{FieldManager: plan.DefaultFieldManager}}
	results, p, err := e.Plan(snap, rules.Selection{Fix: []string{"job"}})
	if err != nil {
		t.Fatal(err)
	}
	held, planned := 0, 0
	for _, r := range results {
		switch {
		case r.Rule != "job":
		case r.Status == rules.StatusConflict:
			held++
			if !strings.Contains(r.Reason, ".spec.concurrencyPolicy is owned by kubectl-client-side-apply") {
				t.Errorf("held for the wrong reason: %+v", r)
			}
		case r.Status == rules.StatusPlanned:
			planned++
		}
	}
	if held != 1 || planned == 0 || p.Empty() {
		t.Fatalf("job findings: %d held, %d planned; want 1 held and the others planned", held, planned)
	}
	if strings.Contains(p.Diff(), "concurrencyPolicy: Forbid") {
		t.Errorf("the held field is in the plan:\n%s", p.Diff())
	}
}
