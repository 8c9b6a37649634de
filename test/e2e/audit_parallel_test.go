package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
)

// hardenLong runs the plugin like harden, with XDG_STATE_HOME=state (its
// own undo journal) and a bound of ten minutes: Online Boutique's twelve
// rollouts one after another take about four.
func hardenLong(t *testing.T, state string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl-harden", args...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Errorf("running kubectl-harden %v: %v", args, err)
	}
	return r
}

// outcomeLine is an audit --fix outcome line: the outcome and the
// workload, e.g. "fixed        deployment/web -n shop: …".
var outcomeLine = regexp.MustCompile(`(?m)^(fixed|rolled back|failed|unchanged|would change|conflict) +(\S+) -n (\S+): `)

// outcomes are the outcome lines' "OUTCOME KIND/NAME", in printed order.
func outcomes(stdout string) []string {
	var out []string
	for _, m := range outcomeLine.FindAllStringSubmatch(stdout, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

// journalEntries reads a workload's local undo journal from a run's
// state directory: each run's last record.
func journalEntries(t *testing.T, state, ns, kind, name string) []apply.Entry {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(state, "kubectl-harden", "*", ns))
	if len(dirs) != 1 {
		t.Fatalf("no journal folder for namespace %s in %s", ns, state)
	}
	cluster := filepath.Base(filepath.Dir(dirs[0]))
	list, err := apply.Journal{Dir: filepath.Join(state, "kubectl-harden")}.List(cluster, ns, kind, name)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// checkNotHalfDone checks that a workload audit --fix reported as want
// (fixed or rolled back) is wholly that, in its journal and on the
// server: a fixed workload's run has every object written and its
// rollout complete; a rolled back one's every object restored, deleted
// or never written, and its own rollout (back) complete.
func checkNotHalfDone(t *testing.T, state, ns, name, want string) {
	t.Helper()
	entries := journalEntries(t, state, ns, "Deployment", name)
	var runs []apply.Entry
	for _, e := range entries {
		if e.Action == "harden" {
			runs = append(runs, e)
		}
	}
	if len(runs) != 1 {
		t.Errorf("deployment/%s -n %s: %d harden runs in the journal, want 1: %+v", name, ns, len(runs), entries)
		return
	}
	for _, c := range runs[0].Objects {
		ok := c.State == apply.StateWritten
		if want == "rolled back" {
			ok = c.Finished()
		}
		if !ok {
			t.Errorf("deployment/%s -n %s (%s): journal has %s/%s %s (%s)", name, ns, want, c.Kind, c.Name, c.State, c.Note)
		}
	}
	rolledBack := slices.ContainsFunc(entries, func(e apply.Entry) bool { return e.Action == "rollback" })
	if rolledBack != (want == "rolled back") {
		t.Errorf("deployment/%s -n %s (%s): a rollback entry in the journal: %v", name, ns, want, rolledBack)
	}
	d := deployment(t, ns, name)
	if d.Status.ObservedGeneration != d.Generation || d.Status.UpdatedReplicas != *d.Spec.Replicas || d.Status.ReadyReplicas != *d.Spec.Replicas {
		t.Errorf("deployment/%s -n %s (%s): rollout not complete: generation %d observed %d, %d updated and %d ready of %d",
			name, ns, want, d.Generation, d.Status.ObservedGeneration, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, *d.Spec.Replicas)
	}
}

// written is what a namespace holds after a fix, for comparing two
// copies: each Deployment's spec and each PodDisruptionBudget's and
// NetworkPolicy's, by name, with the namespace's name taken out.
func written(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range []string{"deployments", "poddisruptionbudgets", "networkpolicies"} {
		raw := kubectl(t, "get", kind, "-n", ns, "-o", "json")
		var list struct {
			Items []struct {
				Metadata struct{ Name string }
				Spec     json.RawMessage
			}
		}
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			t.Fatal(err)
		}
		for _, it := range list.Items {
			out[kind+"/"+it.Metadata.Name] = strings.ReplaceAll(string(it.Spec), ns, "NS")
		}
	}
	return out
}

// Online Boutique fixed with --parallel 4 ends exactly as a second copy
// fixed with --parallel 1, today's sequential run: the same outcome
// lines in the same order, the same exit status, the same specs written
// (Deployments, PodDisruptionBudgets, NetworkPolicies), and every
// workload wholly fixed or rolled back in the journal and on the server.
// Both runs go at once, each in its own namespace and journal.
func TestAuditFixParallelBoutique(t *testing.T) {
	seq, par := newNamespace(t), newNamespace(t)
	for _, ns := range []string{seq, par} {
		kubectl(t, "apply", "-n", ns, "-f", corpus(t, "online-boutique/kubernetes-manifests.yaml"))
	}
	names := workloadNames(t, par, "deployments")
	if len(names) != 12 {
		t.Fatalf("%d deployments, want 12", len(names))
	}
	for _, ns := range []string{seq, par} {
		for _, d := range names {
			waitRollout(t, ns, "deploy/"+d)
		}
	}
	states := map[string]string{seq: t.TempDir(), par: t.TempDir()}
	runs := map[string]result{}
	took := map[string]time.Duration{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for ns, n := range map[string]string{seq: "1", par: "4"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := hardenLong(t, states[ns], "audit", "-n", ns, "--fix=all", "--yes", "--force-conflicts", "--timeout=2m", "--parallel", n)
			mu.Lock()
			runs[ns], took[ns] = r, time.Since(start)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("audit --fix=all --yes: --parallel 1 took %s, --parallel 4 %s", took[seq].Round(time.Second), took[par].Round(time.Second))
	rs, rp := runs[seq], runs[par]
	if rs.code != rp.code || rp.code > 1 {
		t.Fatalf("exit %d with --parallel 1, %d with --parallel 4 (want the same, 0 or 1)\nparallel 1: %s\nparallel 4: %s", rs.code, rp.code, rs, rp)
	}
	want, got := outcomes(rs.stdout), outcomes(rp.stdout)
	if len(got) != 12 || !slices.Equal(got, want) {
		t.Errorf("outcome lines differ:\n--parallel 1: %q\n--parallel 4: %q", want, got)
	}
	summary := regexp.MustCompile(`summary: .*`)
	if s, p := summary.FindString(rs.stdout), summary.FindString(rp.stdout); s != p || s == "" {
		t.Errorf("summaries differ:\n--parallel 1: %s\n--parallel 4: %s", s, p)
	}
	// Every workload fixed or rolled back, and wholly so.
	for _, line := range got {
		outcome, ref, _ := strings.Cut(line, " deployment/")
		if outcome == "rolled" {
			outcome, ref = "rolled back", strings.TrimPrefix(ref, "back deployment/")
		}
		if outcome != "fixed" && outcome != "rolled back" {
			t.Errorf("%s: want fixed or rolled back", line)
			continue
		}
		for _, ns := range []string{seq, par} {
			checkNotHalfDone(t, states[ns], ns, ref, outcome)
		}
	}
	ws, wp := written(t, seq), written(t, par)
	for k, v := range ws {
		if wp[k] != v {
			t.Errorf("%s differs:\n--parallel 1: %s\n--parallel 4: %s", k, v, wp[k])
		}
	}
	for k := range wp {
		if _, ok := ws[k]; !ok {
			t.Errorf("%s only with --parallel 4", k)
		}
	}
	// Four ran at once: the fifth start line comes after a first rollout
	// ended, the fourth before it.
	firstEnd := strings.Index(rp.stderr, "successfully rolled out")
	if i := strings.Index(rp.stderr, "[4/12] "); i < 0 || firstEnd < 0 || i > firstEnd {
		t.Errorf("the fourth workload did not start before the first rollout ended:\n%s", rp.stderr)
	}
	if t.Failed() {
		t.Logf("--parallel 1:\n%s\n--parallel 4:\n%s", rs, rp)
	}
}

// parallelApps are four Deployments applied as published: three that run
// as any user, and legacy, whose image only works as root (the kwok Stage
// fails its pods once they ask for runAsNonRoot).
const parallelApps = `apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, labels: {app: %[1]s}}
spec:
  replicas: 2
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s%[2]s}}
    spec:
      containers:
      - name: app
        image: registry.example/%[1]s:1.0
        ports: [{name: http, containerPort: 8080}]
`

// A rollout that fails among parallel ones rolls back only its own
// workload: the others, fixed beside it, stay fixed, and it is exactly
// as before, its companions deleted, its journal finished.
func TestAuditFixParallelRollbackOnlyItself(t *testing.T) {
	ns := newNamespace(t)
	var docs []string
	for _, name := range []string{"alpha", "bravo", "legacy", "delta"} {
		extra := ""
		if name == "legacy" {
			extra = `, harden-e2e/root-image: "true"`
		}
		docs = append(docs, strings.NewReplacer("%[1]s", name, "%[2]s", extra).Replace(parallelApps))
	}
	path := filepath.Join(t.TempDir(), "apps.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-n", ns, "-f", path)
	for _, name := range []string{"alpha", "bravo", "legacy", "delta"} {
		waitRollout(t, ns, "deploy/"+name)
	}
	legacy := specJSON(t, ns, "deploy", "legacy")
	state := t.TempDir()
	r := hardenLong(t, state, "audit", "-n", ns, "--fix=pdb,spread,run-as-non-root", "--yes", "--force-conflicts", "--timeout=60s", "--parallel", "4")
	if r.code != 2 {
		t.Errorf("a workload rolled back: exit %d, want 2\n%s", r.code, r)
	}
	want := []string{"fixed deployment/alpha", "fixed deployment/bravo", "fixed deployment/delta", "rolled back deployment/legacy"}
	if got := outcomes(r.stdout); !slices.Equal(got, want) {
		t.Errorf("outcomes %q, want %q (in the sequential order)\n%s", got, want, r)
	}
	if !strings.Contains(r.stdout, "summary: fixed 3, rolled back 1, failed 0") {
		t.Errorf("summary:\n%s", r)
	}
	// All four ran at once: every start line before the first rollout
	// ended.
	firstEnd := strings.Index(r.stderr, "successfully rolled out")
	if i := strings.Index(r.stderr, "[4/4] "); i < 0 || firstEnd < 0 || i > firstEnd {
		t.Errorf("the four workloads did not run at once:\n%s", r.stderr)
	}
	ctx := context.Background()
	for _, name := range []string{"alpha", "bravo", "delta"} {
		checkNotHalfDone(t, state, ns, name, "fixed")
		d := deployment(t, ns, name)
		sc := d.Spec.Template.Spec.SecurityContext
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 || sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("deployment/%s lost its fix beside the rollback: spread %v, securityContext %+v", name, d.Spec.Template.Spec.TopologySpreadConstraints, sc)
		}
		if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("PDB %s: %v", name, err)
		}
	}
	checkNotHalfDone(t, state, ns, "legacy", "rolled back")
	if got := specJSON(t, ns, "deploy", "legacy"); got != legacy {
		t.Errorf("deployment/legacy differs after its rollback:\nbefore %s\nafter  %s", legacy, got)
	}
	if _, err := env.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "legacy", metav1.GetOptions{}); err == nil {
		t.Error("the rolled back workload kept its PDB")
	}
}

// ctrl+c during a parallel fix rolls back every run in flight and starts
// no other: each workload ends wholly hardened, wholly as before (rolled
// back), or untouched — in its journal and on the server — and the one
// line on stderr says which and how many never started. The first write
// is held (KUBECTL_HARDEN_TEST_PAUSE=write) until the signal, and
// minReadySeconds keeps the other rollouts in flight.
func TestAuditFixParallelInterrupt(t *testing.T) {
	ns := newNamespace(t)
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	var docs []string
	for _, name := range names {
		doc := strings.NewReplacer("%[1]s", name, "%[2]s", "").Replace(parallelApps)
		docs = append(docs, strings.Replace(doc, "  replicas: 2\n", "  replicas: 2\n  minReadySeconds: 15\n", 1))
	}
	path := filepath.Join(t.TempDir(), "apps.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-n", ns, "-f", path)
	before := map[string]string{}
	for _, name := range names {
		waitRollout(t, ns, "deploy/"+name)
		before[name] = specJSON(t, ns, "deploy", name)
	}
	state := t.TempDir()
	r := startHarden(t, []string{"XDG_STATE_HOME=" + state, "KUBECTL_HARDEN_TEST_PAUSE=write"},
		"audit", "-n", ns, "--fix=pdb,spread", "--yes", "--force-conflicts", "--timeout=90s", "--parallel", "3")
	r.waitLine("harden-test: paused after write 1", 90*time.Second)
	r.waitLine("[3/6] ", 30*time.Second)
	r.signal(syscall.SIGINT)
	r.wait(4 * time.Minute)
	if r.code != 130 {
		t.Errorf("exit %d, want 130\n%s", r.code, r.stderr())
	}
	last := r.stderr()[strings.LastIndex(r.stderr(), "\n")+1:]
	t.Logf("%s", last)
	if !strings.HasPrefix(last, "interrupted: ") || !strings.Contains(last, "rolled back, as it was before") || !strings.Contains(last, "3 workloads not started") {
		t.Errorf("last line %q: want the runs caught rolled back and 3 workloads not started\n%s", last, r.stderr())
	}
	rolled := 0
	for _, name := range names {
		entries := journalEntries(t, state, ns, "Deployment", name)
		switch {
		case len(entries) == 0: // never started, or stopped before its first write
			if strings.Contains(last, "deployment/"+name+" -n "+ns) && !strings.Contains(last, "deployment/"+name+" -n "+ns+": nothing was changed") {
				t.Errorf("deployment/%s has no journal, but the last line says otherwise: %s", name, last)
			}
			if got := specJSON(t, ns, "deploy", name); got != before[name] {
				t.Errorf("deployment/%s, not started, changed:\nbefore %s\nafter  %s", name, before[name], got)
			}
		case strings.Contains(last, "deployment/"+name+" -n "+ns+" rolled back"):
			rolled++
			checkNotHalfDone(t, state, ns, name, "rolled back")
			if got := specJSON(t, ns, "deploy", name); got != before[name] {
				t.Errorf("deployment/%s rolled back but differs:\nbefore %s\nafter  %s", name, before[name], got)
			}
		default:
			checkNotHalfDone(t, state, ns, name, "fixed")
		}
	}
	if rolled == 0 {
		t.Errorf("no run was rolled back:\n%s", r.stderr())
	}
}
