package e2e

import (
	"bufio"
	"bytes"
	"context"
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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	start := func() {
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
				return
			}
			if i == 240 {
				t.Fatal("kube-apiserver not ready 2 minutes after its restart")
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	t.Cleanup(start)
	for i := 0; alive(pid); i++ {
		if i == 300 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(down)
	start()
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
