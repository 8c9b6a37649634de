package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The fault suite's tally, printed by each fault test: every fault must
// end with the workload as it was before (spec byte-equal, no companion)
// or fully hardened (the fixes' fields and the companions present).
var faults struct {
	sync.Mutex
	tried, allowed int
}

func tally(t *testing.T, allowed bool) {
	faults.Lock()
	defer faults.Unlock()
	faults.tried++
	if allowed {
		faults.allowed++
	}
	t.Logf("faults tried: %d, ended in an allowed state: %d", faults.tried, faults.allowed)
}

// endState says whether the pair Deployment is as it was before (spec
// byte-equal, no PDB) or fully hardened (a readiness probe and its PDB),
// or neither.
func endState(t *testing.T, ns, before string) string {
	t.Helper()
	spec := specJSON(t, ns, "deploy", "pair")
	pdbs, err := env.client.PolicyV1().PodDisruptionBudgets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case spec == before && len(pdbs.Items) == 0:
		return "before"
	case spec != before && strings.Contains(spec, `"readinessProbe"`) && len(pdbs.Items) == 1:
		return "hardened"
	}
	return fmt.Sprintf("neither before nor hardened: %d PDB(s), spec %s", len(pdbs.Items), spec)
}

// running is the plugin binary started in the background, its stderr
// read line by line.
type running struct {
	t     *testing.T
	cmd   *exec.Cmd
	out   bytes.Buffer
	mu    sync.Mutex
	lines []string
	seen  chan struct{} // pinged on every stderr line
	done  chan struct{}
	code  int
}

func startHarden(t *testing.T, extraEnv []string, args ...string) *running {
	t.Helper()
	r := &running{t: t, seen: make(chan struct{}, 1), done: make(chan struct{})}
	r.cmd = exec.Command(filepath.Join(env.binDir, "kubectl-harden"), args...)
	r.cmd.Env = append(os.Environ(), extraEnv...)
	r.cmd.Stdout = &r.out
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
			select {
			case r.seen <- struct{}{}:
			default:
			}
		}
		err := r.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitCode()
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitLine waits until a stderr line contains text; false when the
// command ended first.
func (r *running) waitLine(text string, within time.Duration) bool {
	deadline := time.After(within)
	for {
		r.mu.Lock()
		for _, l := range r.lines {
			if strings.Contains(l, text) {
				r.mu.Unlock()
				return true
			}
		}
		r.mu.Unlock()
		select {
		case <-r.seen:
		case <-r.done:
			return false
		case <-deadline:
			r.t.Fatalf("no stderr line %q within %s:\n%s", text, within, r.stderr())
		}
	}
}

func (r *running) signal(s syscall.Signal) {
	if err := r.cmd.Process.Signal(s); err != nil {
		r.t.Fatalf("sending %v: %v", s, err)
	}
}

func (r *running) wait(within time.Duration) {
	select {
	case <-r.done:
	case <-time.After(within):
		r.t.Fatalf("the command did not end within %s:\n%s", within, r.stderr())
	}
}

func (r *running) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// lastLine is the last stderr line; the others must hold no error.
func (r *running) lastLine() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) == 0 {
		return ""
	}
	return r.lines[len(r.lines)-1]
}

// SIGINT at each phase of `--fix=readiness-probe,pdb --yes` (a Deployment
// that gets a PodDisruptionBudget companion): before the first write,
// right after the workload write, while watching a failing rollout, while
// watching a healthy one. Each ends with exit 130, one "interrupted: …"
// line saying what the objects are left as, and the objects as they were
// before — or, if the rollout completed first, fully hardened.
func TestFaultSIGINTAtEachPhase(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   []string // the hidden test hook pauses the run at a phase
		args  []string
		wait  string // the stderr line that marks the phase
		want  string // the line, with NS for the namespace
		maybe string // the other allowed line: the rollout completed first
	}{
		{name: "before-the-write", env: []string{"KUBECTL_HARDEN_TEST_PAUSE=dry-run"},
			wait: "harden-test: paused after dry-run 1", want: "interrupted: nothing was changed"},
		{name: "after-the-workload-write", env: []string{"KUBECTL_HARDEN_TEST_PAUSE=write"},
			wait: "harden-test: paused after write 1",
			want: "interrupted: deployment/pair -n NS rolled back, as it was before; poddisruptionbudget.policy/pair deleted"},
		{name: "watching-a-failing-rollout", args: []string{"--set", "readiness-probe.path=/e2e-crash"},
			wait: "Waiting for deployment",
			want: "interrupted: deployment/pair -n NS rolled back, as it was before; poddisruptionbudget.policy/pair deleted"},
		{name: "watching-a-healthy-rollout", wait: "Waiting for deployment",
			want:  "interrupted: deployment/pair -n NS rolled back, as it was before; poddisruptionbudget.policy/pair deleted",
			maybe: "interrupted: deployment/pair -n NS is hardened (the rollout had completed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNamespace(t)
			applyFile(t, ns, "testdata/e2e/pair.yaml")
			waitRollout(t, ns, "deploy/pair")
			before := specJSON(t, ns, "deploy", "pair")
			args := append([]string{"deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes", "--timeout=90s"}, tc.args...)
			r := startHarden(t, append(tc.env, "XDG_STATE_HOME="+t.TempDir()), args...)
			if !r.waitLine(tc.wait, 90*time.Second) {
				t.Fatalf("the run ended before %q:\n%s", tc.wait, r.stderr())
			}
			r.signal(syscall.SIGINT)
			r.wait(3 * time.Minute)
			waitRollout(t, ns, "deploy/pair")
			state := endState(t, ns, before)
			last := r.lastLine()
			want := strings.ReplaceAll(tc.want, "NS", ns)
			maybe := strings.ReplaceAll(tc.maybe, "NS", ns)
			ok := r.code == 130 && (last == want && state == "before" || maybe != "" && strings.HasPrefix(last, maybe) && state == "hardened")
			if strings.Contains(r.stderr(), "error:") {
				ok = false
			}
			tally(t, ok)
			if !ok {
				t.Errorf("exit %d, state %s; want exit 130 and %q, as before:\n%s", r.code, state, want, r.stderr())
			}
		})
	}
}

// A second SIGINT stops at once and prints the exact undo command; that
// command then restores the workload exactly.
func TestFaultSecondSIGINT(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	state := "XDG_STATE_HOME=" + t.TempDir()
	// The first signal arrives after the workload write, the second
	// after the PDB's: the run stops with both written.
	r := startHarden(t, []string{state, "KUBECTL_HARDEN_TEST_PAUSE=write2"}, "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes")
	r.waitLine("harden-test: paused after write 1", 90*time.Second)
	r.signal(syscall.SIGINT)
	r.waitLine("harden-test: paused after write 2", 90*time.Second)
	r.signal(syscall.SIGINT)
	r.wait(time.Minute)
	last := r.lastLine()
	undo := "kubectl harden undo deployment/pair -n " + ns
	ok := r.code == 130 && strings.HasPrefix(last, "interrupted again: stopped at once; ") && strings.HasSuffix(last, undo)
	if !ok {
		t.Errorf("exit %d; want 130 and a line ending with %q:\n%s", r.code, undo, r.stderr())
	}
	// What the line says to run puts everything back (or finds the
	// rollback already done).
	u := runCmd(t, []string{state}, "kubectl-harden", "undo", "deployment/pair", "-n", ns)
	if u.code != 0 && !strings.Contains(u.stderr, "has no kubectl harden run to undo") {
		t.Errorf("the undo it printed: %s", u)
	}
	waitRollout(t, ns, "deploy/pair")
	end := endState(t, ns, before)
	ok = ok && end == "before"
	tally(t, ok)
	if end != "before" {
		t.Errorf("after the undo: %s", end)
	}
}

// The API server stopped (by its recorded PID) for a few seconds while a
// healthy rollout is watched, then started again with the very same
// command line: the watch retries, the rollout completes, nothing is
// rolled back.
func TestFaultAPIServerRestartDuringWatch(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/pair.yaml")
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")
	r := startHarden(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "deploy/pair", "-n", ns, "--fix=readiness-probe,pdb", "--yes", "--timeout=3m")
	if !r.waitLine("Waiting for deployment", 90*time.Second) {
		t.Fatalf("the run ended before the watch:\n%s", r.stderr())
	}
	restartAPIServer(t, 4*time.Second)
	r.wait(4 * time.Minute)
	waitRollout(t, ns, "deploy/pair")
	state := endState(t, ns, before)
	ok := (r.code == 0 || r.code == 1) && state == "hardened" && !strings.Contains(r.stderr(), "rolled back")
	tally(t, ok)
	if !ok {
		t.Errorf("exit %d, state %s; want the rollout completed, hardened:\n%s", r.code, state, r.stderr())
	}
}

// restartAPIServer stops the cluster's kube-apiserver by its recorded PID,
// waits down, and starts it again with the exact command line it ran
// (read from /proc before stopping it), appending to its log, then waits
// for /readyz. It restarts it even when the test fails on the way.
func restartAPIServer(t *testing.T, down time.Duration) {
	t.Helper()
	start := stopAPIServer(t)
	time.Sleep(down)
	start()
}

// stopAPIServer stops the cluster's kube-apiserver by its recorded PID
// (SIGTERM, then SIGKILL if it still runs 5s later: its graceful shutdown
// can take a minute) and returns what starts it again with the exact
// command line it ran, appending to its log, and waits for /readyz. The
// test's cleanup starts it too, when the test fails before it does.
func stopAPIServer(t *testing.T) (start func()) {
	t.Helper()
	dir := filepath.Join(env.root, ".cluster")
	pidFile := filepath.Join(dir, "kube-apiserver.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	wd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	started := false
	start = func() {
		if started {
			return
		}
		started = true
		log, err := os.OpenFile(filepath.Join(dir, "kube-apiserver.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = wd, log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the test, as cluster-up.sh's does
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting kube-apiserver again: %v", err)
		}
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		go func() { _ = cmd.Wait() }()
		url, err := os.ReadFile(filepath.Join(dir, "apiserver.url"))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			if exec.Command("curl", "-skf", "--max-time", "2", strings.TrimSpace(string(url))+"/readyz").Run() == nil {
				break
			}
			if i == 240 {
				t.Fatal("kube-apiserver not ready 2 minutes after its restart")
			}
			time.Sleep(500 * time.Millisecond)
		}
		settle(t)
	}
	t.Cleanup(start)
	for i := 0; alive(pid); i++ {
		if i == 50 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return start
}

// settle waits until the cluster works again after an API server restart,
// for the tests after this one: the controller manager, the scheduler and
// kwok re-establish their watches with their own backoff, which can take
// half a minute after /readyz. A fresh namespace must get its default
// ServiceAccount and a one-replica Deployment there must become available.
func settle(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ns := "apiserver-back-" + hex.EncodeToString(b)
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("after the API server restart: %v", err)
	}
	defer func() { _ = env.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) }()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := env.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("after the API server restart, namespace %s got no default ServiceAccount within 2m", ns)
	}
	one := int32(1)
	labels := map[string]string{"app": "settle"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "settle"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/settle:1.0"}}},
			},
		},
	}
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("after the API server restart: %v", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := env.client.AppsV1().Deployments(ns).Get(ctx, "settle", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1, nil
	})
	if err != nil {
		t.Fatalf("after the API server restart, a one-replica Deployment was not available within 2m")
	}
}

// alive reports whether the process runs (a zombie does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// slowPair is pair whose rollout takes at least 10s (minReadySeconds), so
// ctrl+c surely lands while it is watched.
const slowPair = `apiVersion: apps/v1
kind: Deployment
metadata: {name: pair, labels: {app: pair}}
spec:
  replicas: 2
  minReadySeconds: 10
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: pair}}
  template:
    metadata: {labels: {app: pair}}
    spec:
      containers:
      - name: app
        image: registry.example/pair:1.0
        ports: [{name: http, containerPort: 8080}]
`

// ctrl+c in the UI while the rollout is watched rolls back and says so —
// not as a failure, not as a timeout — and the command exits 130 with one
// line saying what was rolled back.
func TestFaultTUICtrlCDuringRollout(t *testing.T) {
	ns := newNamespace(t)
	path := filepath.Join(t.TempDir(), "pair.yaml")
	if err := os.WriteFile(path, []byte(slowPair), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-n", ns, "-f", path)
	waitRollout(t, ns, "deploy/pair")
	before := specJSON(t, ns, "deploy", "pair")

	term := newTerminal(t, "NO_COLOR=1 kubectl harden deploy/pair -n "+ns+" --fix=readiness-probe,pdb")
	term.waitFor("findings", 30*time.Second)
	term.keys("y")
	term.waitFor("dry-run passed", 30*time.Second)
	term.keys("y")
	term.waitFor("stop and roll back", 30*time.Second)
	term.keys("C-c")
	s := term.waitFor("is as it was before", time.Minute)
	for _, bad := range []string{"did not complete", "rollout failed", `\n`, "; ;"} {
		if strings.Contains(s, bad) {
			t.Errorf("the result shows %q:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "interrupted and rolled back") {
		t.Errorf("the result does not say the rollout was interrupted:\n%s", s)
	}
	term.keys("q")
	code := term.exitCode()
	s = term.screen()
	want := "interrupted: deployment/pair -n " + ns + " rolled back, as it was before; poddisruptionbudget.policy/pair deleted"
	waitRollout(t, ns, "deploy/pair")
	state := endState(t, ns, before)
	ok := code == "130" && strings.Contains(strings.ReplaceAll(s, "\n", ""), want) && state == "before"
	tally(t, ok)
	if !ok {
		t.Errorf("exit %s, state %s; want 130 and %q:\n%s", code, state, want, s)
	}
}

// soloService is one replica behind a Service: --fix=replicas,pdb,network-policy
// raises the replicas and creates a PodDisruptionBudget and a NetworkPolicy,
// three writes: the Deployment first, then the two companions.
const soloService = `apiVersion: apps/v1
kind: Deployment
metadata: {name: solo, labels: {app: solo}}
spec:
  replicas: 1
  selector: {matchLabels: {app: solo}}
  template:
    metadata: {labels: {app: solo}}
    spec:
      containers:
      - name: app
        image: registry.example/solo:1.0
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  selector: {app: solo}
  ports: [{port: 80, targetPort: http}]
`

// soloState says whether the solo Deployment is as it was before (spec
// byte-equal, no PDB, no NetworkPolicy), fully hardened (more than one
// replica, its PDB and its NetworkPolicy), or neither: then it names what
// is there.
func soloState(t *testing.T, ns, before string) string {
	t.Helper()
	ctx := context.Background()
	d, err := env.client.AppsV1().Deployments(ns).Get(ctx, "solo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdbs, err := env.client.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nps, err := env.client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := specJSON(t, ns, "deploy", "solo")
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	switch {
	case spec == before && len(pdbs.Items) == 0 && len(nps.Items) == 0:
		return "before"
	case spec != before && replicas > 1 && len(pdbs.Items) == 1 && len(nps.Items) == 1:
		return "hardened"
	}
	return fmt.Sprintf("neither before nor hardened: %d replicas, %d PDB(s), %d NetworkPolicy(ies), spec %s", replicas, len(pdbs.Items), len(nps.Items), spec)
}

// The API server stopped by its PID at each phase of a run that writes a
// Deployment and two companions (`--fix=replicas,pdb,network-policy --yes
// --force-conflicts`), the run going on while it is down (the hidden test
// hook pauses it at the phase until SIGUSR1):
//   - after the workload write, before the companions': the companion
//     write fails and so does undoing the workload's; exit 2 with one line
//     naming the exact undo command, the run in the local journal, and that
//     command, once the API server is back, puts the spec back byte-equal
//     with no companion;
//   - after the dry-run, before the first write: exit 2, nothing changed;
//   - after every write, before the watch, back a few seconds later: the
//     watch waits for it, the rollout completes, fully hardened.
func TestFaultAPIServerStoppedAtEachPhase(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pause string // KUBECTL_HARDEN_TEST_PAUSE
		at    string // the state when the API server is stopped
		back  bool   // started again while the run goes on
	}{
		{name: "after-the-workload-write", pause: "after-write1", at: "workload"},
		{name: "before-the-first-write", pause: "before-write1", at: "before"},
		{name: "after-every-write-before-the-watch", pause: "after-write3", at: "hardened", back: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNamespace(t)
			path := filepath.Join(t.TempDir(), "solo.yaml")
			if err := os.WriteFile(path, []byte(soloService), 0o644); err != nil {
				t.Fatal(err)
			}
			kubectl(t, "apply", "-n", ns, "-f", path)
			waitRollout(t, ns, "deploy/solo")
			before := specJSON(t, ns, "deploy", "solo")
			state := "XDG_STATE_HOME=" + t.TempDir()
			r := startHarden(t, []string{state, "KUBECTL_HARDEN_TEST_PAUSE=" + tc.pause},
				"deploy/solo", "-n", ns, "--fix=replicas,pdb,network-policy", "--yes", "--force-conflicts", "--timeout=3m")
			paused := "harden-test: paused " + strings.Replace(tc.pause, "-write", " write ", 1)
			if !r.waitLine(paused, 90*time.Second) {
				t.Fatalf("the run ended before %q:\n%s", paused, r.stderr())
			}
			// The pause is where it should be.
			switch at := soloState(t, ns, before); {
			case tc.at == "workload" && !strings.Contains(at, "neither") || tc.at != "workload" && at != tc.at:
				t.Fatalf("paused with the objects %s, want %s", at, tc.at)
			}
			start := stopAPIServer(t)
			stopped := time.Now()
			r.signal(syscall.SIGUSR1)
			if tc.back {
				time.Sleep(4 * time.Second)
				start()
			}
			r.wait(5 * time.Minute)
			t.Logf("the run ended %s after the API server stopped; exit %d, stderr:\n%s", time.Since(stopped).Round(time.Second), r.code, r.stderr())
			start()
			undo := "kubectl harden undo deployment/solo -n " + ns
			var ok bool
			var end string
			switch tc.at {
			case "workload":
				// Part-way: exactly one line, the error, naming the undo
				// command.
				lines := strings.Split(r.stderr(), "\n")
				named := 0
				for _, l := range lines {
					if strings.Contains(l, undo) {
						named++
					}
				}
				last := r.lastLine()
				ok = r.code == 2 && named == 1 && strings.HasPrefix(last, "error: ") &&
					(strings.HasSuffix(last, undo) || strings.Contains(last, undo+" "))
				if !ok {
					t.Errorf("exit %d; want 2 and one line naming %q:\n%s", r.code, undo, r.stderr())
				}
				if at := soloState(t, ns, before); !strings.Contains(at, "neither") {
					t.Errorf("before the undo the objects are %s, want part-way", at)
				}
				// The local journal has the run.
				h := runCmd(t, []string{state}, "kubectl-harden", "history", "deployment/solo", "-n", ns)
				if h.code != 0 || !strings.Contains(h.stdout, "  harden  replicas,network-policy,pdb  ") {
					ok = false
					t.Errorf("kubectl harden history does not show the run: %s", h)
				}
				// What the line says to run puts everything back.
				u := runCmd(t, []string{state}, "kubectl-harden", strings.Fields(undo)[2:]...)
				if u.code != 0 {
					ok = false
					t.Errorf("%s: %s", undo, u)
				}
				waitRollout(t, ns, "deploy/solo")
				end = soloState(t, ns, before)
				ok = ok && end == "before"
			case "before":
				// The write's connection refused: nothing was written, and
				// the line says so. (Had the request left without an
				// answer, the line would name the undo command instead.)
				end = soloState(t, ns, before)
				last := r.lastLine()
				said := strings.HasPrefix(last, "error: ") &&
					(strings.HasSuffix(last, "; nothing was changed") || strings.HasSuffix(last, undo+" once the cluster answers"))
				ok = r.code == 2 && end == "before" && said
				if !said {
					t.Errorf("the last line says neither that nothing was changed nor %q: %s", undo, last)
				}
			case "hardened":
				waitRollout(t, ns, "deploy/solo")
				end = soloState(t, ns, before)
				ok = (r.code == 0 || r.code == 1) && end == "hardened" &&
					!strings.Contains(r.stderr(), "rolled back") && !strings.Contains(r.stderr(), "error:")
			}
			tally(t, ok)
			if !ok {
				t.Errorf("exit %d, end state %s:\n%s", r.code, end, r.stderr())
			}
		})
	}
}
