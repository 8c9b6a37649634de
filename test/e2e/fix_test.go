package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// hardenReport runs the plugin with -o json and decodes the report.
func hardenReport(t *testing.T, args ...string) (report.Report, result) {
	t.Helper()
	r := harden(t, append(args, "-o", "json")...)
	if r.code > 1 {
		t.Fatalf("harden %v: %s", args, r)
	}
	var doc report.Report
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("harden %v -o json: %v\n%s", args, err, r)
	}
	return doc, r
}

// findings returns the results of one rule for the first workload.
func findings(doc report.Report, rule string) []rules.Result {
	var out []rules.Result
	for _, f := range doc.Workloads[0].Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := env.client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every fixable rule, end to end: the fixture's finding is fixed with
// --fix=<rule> --yes, the rollout completes, the server holds the fix, and
// a second run finds nothing for that rule and changes nothing.
func TestFixEachRule(t *testing.T) {
	for _, tc := range []struct {
		rule, fixture, ref string
		args               []string
		check              func(t *testing.T, ns string)
	}{
		{"replicas", "replicas.yaml", "deploy/solo", []string{"--force-conflicts"}, func(t *testing.T, ns string) {
			if d := deployment(t, ns, "solo"); *d.Spec.Replicas != 2 || d.Status.ReadyReplicas != 2 {
				t.Errorf("replicas %d, ready %d", *d.Spec.Replicas, d.Status.ReadyReplicas)
			}
		}},
		{"replicas", "hpa.yaml", "deploy/scaled", []string{"--force-conflicts"}, func(t *testing.T, ns string) {
			h, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "scaled", metav1.GetOptions{})
			if err != nil || *h.Spec.MinReplicas != 2 {
				t.Errorf("HPA minReplicas not raised: %v %v", err, h.Spec.MinReplicas)
			}
			if f := deployment(t, ns, "scaled").ManagedFields; hasManager(f, "kubectl-harden") {
				t.Error("spec.replicas of an HPA-managed Deployment must not be touched")
			}
		}},
		{"pdb", "pair.yaml", "deploy/pair", nil, func(t *testing.T, ns string) {
			p, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "pair", metav1.GetOptions{})
			if err != nil || p.Spec.MaxUnavailable.IntValue() != 1 {
				t.Fatalf("PDB: %v %+v", err, p)
			}
			if p.Status.DisruptionsAllowed != 1 && p.Status.ObservedGeneration > 0 {
				t.Errorf("PDB allows %d disruptions, want 1", p.Status.DisruptionsAllowed)
			}
		}},
		{"spread", "pair.yaml", "deploy/pair", nil, func(t *testing.T, ns string) {
			if c := deployment(t, ns, "pair").Spec.Template.Spec.TopologySpreadConstraints; len(c) != 2 {
				t.Errorf("constraints: %+v", c)
			}
		}},
		{"readiness-probe", "pair.yaml", "deploy/pair", []string{"--set", "readiness-probe.path=/ready"}, func(t *testing.T, ns string) {
			p := deployment(t, ns, "pair").Spec.Template.Spec.Containers[0].ReadinessProbe
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/ready" || p.HTTPGet.Port.StrVal != "http" {
				t.Errorf("readiness probe: %+v", p)
			}
		}},
		{"liveness-probe", "pair.yaml", "deploy/pair", nil, func(t *testing.T, ns string) {
			if p := deployment(t, ns, "pair").Spec.Template.Spec.Containers[0].LivenessProbe; p == nil || p.TCPSocket == nil {
				t.Errorf("liveness probe: %+v", p)
			}
		}},
		{"liveness-probe", "tight-liveness.yaml", "deploy/twitchy", []string{"--force-conflicts"}, func(t *testing.T, ns string) {
			p := deployment(t, ns, "twitchy").Spec.Template.Spec.Containers[0].LivenessProbe
			if p.TimeoutSeconds != 5 || p.PeriodSeconds != 10 || p.FailureThreshold != 3 || p.HTTPGet.Path != "/healthz" {
				t.Errorf("liveness probe not relaxed: %+v", p)
			}
		}},
		{"startup-probe", "tight-liveness.yaml", "deploy/twitchy", nil, func(t *testing.T, ns string) {
			p := deployment(t, ns, "twitchy").Spec.Template.Spec.Containers[0].StartupProbe
			if p == nil || p.HTTPGet == nil || p.PeriodSeconds*p.FailureThreshold < 60 {
				t.Errorf("startup probe: %+v", p)
			}
		}},
		{"rollout", "pair.yaml", "deploy/pair", nil, func(t *testing.T, ns string) {
			if d := deployment(t, ns, "pair"); d.Spec.MinReadySeconds != 10 {
				t.Errorf("minReadySeconds %d", d.Spec.MinReadySeconds)
			}
		}},
		{"probes", "statefulset.yaml", "sts/store", nil, func(t *testing.T, ns string) {
			s, err := env.client.AppsV1().StatefulSets(ns).Get(context.Background(), "store", metav1.GetOptions{})
			if err != nil || s.Spec.Template.Spec.Containers[0].ReadinessProbe == nil || s.Status.ReadyReplicas != 2 {
				t.Errorf("statefulset: %v ready=%d probe=%v", err, s.Status.ReadyReplicas, s.Spec.Template.Spec.Containers[0].ReadinessProbe)
			}
		}},
		{"all", "daemonset.yaml", "ds/agent", nil, func(t *testing.T, ns string) {
			d, err := env.client.AppsV1().DaemonSets(ns).Get(context.Background(), "agent", metav1.GetOptions{})
			if err != nil || d.Spec.Template.Spec.Containers[0].LivenessProbe == nil || d.Status.NumberReady != 6 {
				t.Errorf("daemonset: %v ready=%d", err, d.Status.NumberReady)
			}
		}},
	} {
		t.Run(tc.rule+"/"+tc.fixture, func(t *testing.T) {
			ns := newNamespace(t)
			applyFile(t, ns, "testdata/e2e/"+tc.fixture)
			waitRollout(t, ns, tc.ref)
			before, _ := hardenReport(t, tc.ref, "-n", ns)
			want := 0
			for _, f := range before.Workloads[0].Findings {
				if f.Status == rules.StatusNotSelected && (tc.rule == "all" || strings.Contains(","+tc.rule+",", ","+f.Rule+",") ||
					(tc.rule == "probes" && strings.HasSuffix(f.Rule, "-probe"))) {
					want++
				}
			}
			if want == 0 {
				t.Fatalf("fixture shows no fixable %s finding:\n%+v", tc.rule, before.Workloads[0].Findings)
			}
			after, r := hardenReport(t, append([]string{tc.ref, "-n", ns, "--fix=" + tc.rule, "--yes"}, tc.args...)...)
			fixed := 0
			for _, f := range after.Workloads[0].Findings {
				switch f.Status {
				case rules.StatusFixed:
					fixed++
				case rules.StatusPlanned:
					t.Errorf("finding left planned after --yes: %+v", f)
				}
			}
			// A single rule fixes all it found; "all" may leave some to a
			// human (a port no Service names), each with its reason.
			if !after.Workloads[0].Applied || fixed == 0 || (tc.rule != "all" && fixed != want) {
				t.Fatalf("%d findings fixed, want %d:\n%s", fixed, want, r)
			}
			waitRollout(t, ns, tc.ref)
			tc.check(t, ns)
			again, r := hardenReport(t, tc.ref, "-n", ns, "--fix="+tc.rule)
			if again.Workloads[0].Plan != nil {
				t.Errorf("second run plans changes:\n%s", r)
			}
			for _, f := range again.Workloads[0].Findings {
				if f.Status == rules.StatusPlanned {
					t.Errorf("second run still finds %s: %s", f.Rule, f.Message)
				}
			}
		})
	}
}

func hasManager(fields []metav1.ManagedFieldsEntry, manager string) bool {
	for _, f := range fields {
		if f.Manager == manager {
			return true
		}
	}
	return false
}

// A fixed 3-replica Deployment is really spread over the three zones by
// the scheduler.
func TestSpreadOverZones(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/deploy-3.yaml")
	waitRollout(t, ns, "deploy/three")
	if _, r := hardenReport(t, "deploy/three", "-n", ns, "--fix=spread", "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	waitRollout(t, ns, "deploy/three")
	zones := zonesOf(t, ns, "app=three")
	if len(zones) != 3 {
		t.Errorf("pods in zones %v, want all three", zones)
	}
}

// zonesOf maps the zones of the Ready pods matching selector to their count.
func zonesOf(t *testing.T, ns, selector string) map[string]int {
	t.Helper()
	ctx := context.Background()
	pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]int{}
	for _, p := range pods.Items {
		if ready, _ := inspect.PodReady(&p); !ready || p.DeletionTimestamp != nil {
			continue
		}
		node, err := env.client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		zones[node.Labels[inspect.ZoneLabel]]++
	}
	return zones
}

// A field kubectl apply owns is not taken without --force-conflicts: that
// fix ends as conflict naming the manager and the field (exit 1), and the
// fixes that conflict with nobody are applied.
func TestConflictNamesManagerAndField(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/replicas.yaml")
	waitRollout(t, ns, "deploy/solo")
	gen := deployment(t, ns, "solo").Generation
	r := harden(t, "deploy/solo", "-n", ns, "--fix=replicas,readiness-probe", "--yes")
	// The fix that conflicts with nobody is applied; the one whose field
	// kubectl apply owns is held back, naming the manager and the field.
	if r.code != 1 || !strings.Contains(r.stdout, ".spec.replicas is owned by kubectl-client-side-apply: its next apply or sync resets it") {
		t.Errorf("got %s", r)
	}
	d := deployment(t, ns, "solo")
	if d.Generation == gen || d.Spec.Template.Spec.Containers[0].ReadinessProbe == nil || *d.Spec.Replicas != 1 {
		t.Errorf("want the probe applied and replicas left to kubectl apply: replicas %d, probe %v", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].ReadinessProbe)
	}
	// The preview says the same above the diff, which leaves replicas out.
	r = harden(t, "deploy/solo", "-n", ns, "--fix=replicas", "-o", "diff")
	if r.code != 1 || strings.Contains(r.stdout, "+  replicas: 2") ||
		!strings.Contains(r.stdout, "# deployment/solo -n "+ns+": replicas not applied (conflict): .spec.replicas is owned by kubectl-client-side-apply") {
		t.Errorf("preview: %s", r)
	}
	// --force-conflicts takes it.
	if r = harden(t, "deploy/solo", "-n", ns, "--fix=replicas", "--yes", "--force-conflicts"); r.code > 1 || *deployment(t, ns, "solo").Spec.Replicas != 2 {
		t.Errorf("forced: %s", r)
	}
}

// The priority-class fix names only a class that exists.
func TestPriorityClassFix(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: ns + "-critical"}, Value: 1000}
	if _, err := env.client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.SchedulingV1().PriorityClasses().Delete(context.Background(), pc.Name, metav1.DeleteOptions{})
	})
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	if r := harden(t, "deploy/pair", "-n", ns, "--fix=priority-class", "--set", "priority-class.name=gold", "--yes"); r.code != 2 || !strings.Contains(r.stderr, `PriorityClass "gold" does not exist`) {
		t.Errorf("unknown class: %s", r)
	}
	if _, r := hardenReport(t, "deploy/pair", "-n", ns, "--fix=priority-class", "--set", "priority-class.name="+pc.Name, "--yes"); r.code > 1 {
		t.Fatal(r)
	}
	if got := deployment(t, ns, "pair").Spec.Template.Spec.PriorityClassName; got != pc.Name {
		t.Errorf("priorityClassName %q", got)
	}
	waitRollout(t, ns, "deploy/pair")
}

// Output formats: json follows the documented schema, patch is RFC 6902,
// diff is coloured on request, and dry runs change nothing.
func TestOutputFormatsAndDryRun(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	gen := deployment(t, ns, "pair").Generation

	doc, r := hardenReport(t, "deploy/pair", "-n", ns, "--fix=pdb,readiness-probe", "--dry-run=server")
	if r.code != 1 || doc.APIVersion != report.APIVersion || doc.Kind != "Report" || len(doc.Workloads) != 1 {
		t.Fatalf("json report: %s", r)
	}
	w := doc.Workloads[0]
	if w.Name != "pair" || w.Namespace != ns || w.Kind != "Deployment" || w.Score >= 100 || w.Plan == nil || len(w.Plan.Objects) != 2 {
		t.Errorf("workload: %+v", w)
	}
	if o := w.Plan.Objects[1]; o.Kind != "PodDisruptionBudget" || o.Action != "create" || len(o.Patch) != 1 {
		t.Errorf("companion: %+v", o)
	}

	r = harden(t, "deploy/pair", "-n", ns, "--fix=readiness-probe", "-o", "patch")
	var objs []report.PatchEntry
	if err := json.Unmarshal([]byte(r.stdout), &objs); err != nil || len(objs) != 1 || objs[0].Action != "update" || objs[0].Patch[0].Op != "add" ||
		objs[0].Patch[0].Path != "/spec/template/spec/containers/0/readinessProbe" {
		t.Errorf("patch: %v\n%s", err, r)
	}

	r = harden(t, "deploy/pair", "-n", ns, "--fix=readiness-probe", "-o", "diff", "--color=always")
	if !strings.Contains(r.stdout, "\x1b[") || !strings.Contains(r.stdout, "readinessProbe:") {
		t.Errorf("coloured diff: %q", r.stdout)
	}
	r = harden(t, "deploy/pair", "-n", ns, "--fix=readiness-probe", "-o", "diff")
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("diff to a pipe must not be coloured")
	}

	r = harden(t, "deploy/pair", "-n", ns, "--fix=readiness-probe", "-o", "yaml", "--dry-run=client", "--yes")
	var y map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &y); err != nil || y["kind"] != "Report" {
		t.Errorf("yaml: %v\n%s", err, r)
	}
	if d := deployment(t, ns, "pair"); d.Generation != gen {
		t.Error("a dry run changed the deployment")
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), "pair", metav1.GetOptions{}); err == nil {
		t.Error("a dry run created the PDB")
	}
}

// The demo shop, fixed with --fix=all --yes — naming the opt-in
// privileged and read-only-root-fs, whose harm would show only at runtime:
// every Deployment ends with ≥2 ready replicas over several zones, a PDB
// and probes, and a second run changes nothing. The StatefulSet keeps its
// single replica (a human's call) but gets probes.
func TestDemoShopFixAll(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	deployments := []string{"web", "api", "worker"}
	for _, d := range deployments {
		waitRollout(t, ns, "deploy/"+d)
	}
	for _, d := range deployments {
		doc, r := hardenReport(t, "deploy/"+d, "-n", ns, "--fix=all,privileged,read-only-root-fs", "--yes", "--force-conflicts")
		if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
			t.Fatalf("%s not applied: %s", d, r)
		}
	}
	for _, d := range deployments {
		dep := deployment(t, ns, d)
		if dep.Status.ReadyReplicas < 2 {
			t.Errorf("%s: %d ready replicas", d, dep.Status.ReadyReplicas)
		}
		if zones := zonesOf(t, ns, "app="+d); len(zones) < 2 {
			t.Errorf("%s: pods in zones %v", d, zones)
		}
		if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), d, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: %v", d, err)
		}
		c := dep.Spec.Template.Spec.Containers[0]
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: probes missing", d)
		}
		doc, r := hardenReport(t, "deploy/"+d, "-n", ns, "--fix=all")
		if doc.Workloads[0].Plan != nil {
			t.Errorf("%s: second run is not clean:\n%s", d, r)
		}
	}
	doc, r := hardenReport(t, "sts/db", "-n", ns, "--fix=all", "--yes")
	if !doc.Workloads[0].Applied {
		t.Fatalf("sts/db: %s", r)
	}
	if f := findings(doc, "replicas"); len(f) != 1 || f[0].Status != rules.StatusNeedsHuman {
		t.Errorf("sts/db replicas should need a human: %+v", f)
	}
	sts, err := env.client.AppsV1().StatefulSets(ns).Get(context.Background(), "db", metav1.GetOptions{})
	if err != nil || sts.Spec.Template.Spec.Containers[0].ReadinessProbe == nil || sts.Status.ReadyReplicas != 1 {
		t.Errorf("sts/db: %v", err)
	}
	// What is left needs a human (its own ServiceAccount, a secret in
	// env…): nothing fixable is pending, and the exit code says findings remain.
	doc, r = hardenReport(t, "deploy/web", "-n", ns, "--fix=all")
	for _, f := range doc.Workloads[0].Findings {
		// nginx starts as root and switches user: non-root is left to be
		// named with the image's UID (opt-in), not guessed.
		optIn := f.Status == rules.StatusSkipped && f.OptIn != ""
		if f.Status != rules.StatusNeedsHuman && !optIn || f.Reason == "" {
			t.Errorf("web: %s left %s: %s", f.Rule, f.Status, f.Message)
		}
	}
	if r.code != 1 {
		t.Errorf("findings for a human remain: exit %d, want 1", r.code)
	}
}
