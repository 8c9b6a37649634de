// Command bench-fix measures `kubectl harden audit --fix --yes` at scale
// on the local cluster: the time to fix one workload against the time to
// fix N (default 200) spread over a few namespaces, with --parallel at
// harden's default unless -parallel says otherwise. It prints the two
// times and their ratio, checks that every workload was fixed (none
// failed, none rolled back) and exits 1 when the ratio is above the
// target (10×) or a workload was not fixed, 2 on an error.
//
// The workloads are Deployments of two replicas, applied as users do
// (kubectl apply -f, client-side), in namespaces PREFIX-0…PREFIX-K-1
// labelled harden-bench-fix=true; the fix is -fix (default pdb,spread: a
// companion created and a template changed, so a rollout, per workload).
// The namespaces are deleted at the end unless -keep.
//
// Each pod template carries the annotation harden-e2e/ready-after
// (-ready-after, default 5s), which the local cluster's kwok stages read to
// hold a new pod un-Ready that long: kwok runs no container, so without it a
// rollout is instant and the bench measures only API round trips, not the
// wait for an app to start that a rollout watch spends most of its time on
// in a real cluster (and that --parallel overlaps).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// config is the bench's flags.
type config struct {
	workloads  int
	namespaces int
	parallel   int // 0: harden's default
	fix        string
	harden     string
	kubectl    string
	prefix     string
	target     float64
	timeout    time.Duration
	keep       bool
	// readyAfter is how long each new pod stays un-Ready (the annotation
	// harden-e2e/ready-after); 0 leaves pods Ready at once.
	readyAfter time.Duration
	// clusterDir holds the control plane's PID files, whose CPU time each
	// run costs is printed; "" prints none.
	clusterDir string
}

func main() {
	var c config
	flag.IntVar(&c.workloads, "workloads", envInt("BENCH_FIX_WORKLOADS", 200), "workloads fixed by the run on all (BENCH_FIX_WORKLOADS)")
	flag.IntVar(&c.namespaces, "namespaces", envInt("BENCH_FIX_NAMESPACES", 4), "namespaces they are spread over (BENCH_FIX_NAMESPACES)")
	flag.IntVar(&c.parallel, "parallel", envInt("BENCH_FIX_PARALLEL", 0), "--parallel of the run on all; 0 leaves harden's default (BENCH_FIX_PARALLEL)")
	flag.StringVar(&c.fix, "fix", "pdb,spread", "the rules fixed (--fix)")
	flag.StringVar(&c.harden, "harden", envStr("BENCH_HARDEN", "bin/kubectl-harden"), "the kubectl-harden binary")
	flag.StringVar(&c.kubectl, "kubectl", envStr("KUBECTL", "kubectl"), "the kubectl binary")
	flag.StringVar(&c.prefix, "prefix", envStr("BENCH_FIX_PREFIX", "bench-fix"), "namespace name prefix (BENCH_FIX_PREFIX)")
	flag.Float64Var(&c.target, "target", 10, "the most the run on all may take, in runs on one (issue #16)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "how long the whole bench may take")
	flag.BoolVar(&c.keep, "keep", false, "keep the namespaces")
	flag.StringVar(&c.clusterDir, "cluster-dir", envStr("BENCH_FIX_CLUSTER_DIR", clusterDir()),
		"the local cluster's directory (its NAME.pid files): the control plane's CPU time per run is printed; default the kubeconfig's directory when it holds kube-apiserver.pid (BENCH_FIX_CLUSTER_DIR)")
	flag.DurationVar(&c.readyAfter, "ready-after", envDuration("BENCH_FIX_READY_AFTER", 5*time.Second),
		"how long each new pod takes to become Ready, an app's start-up that a real rollout waits for; default 5s, a small service's start (BENCH_FIX_READY_AFTER)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ok, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "bench-fix: a target is missed")
		os.Exit(1)
	}
}

// benchLabel marks the namespaces and workloads the bench makes; its
// value on a workload says which run fixes it: one or all.
const benchLabel = "harden-bench-fix"

func run(ctx context.Context, c config) (bool, error) {
	if c.workloads < 1 || c.namespaces < 1 {
		return false, fmt.Errorf("-workloads and -namespaces must be positive")
	}
	dir, err := os.MkdirTemp("", "bench-fix-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	nss := make([]string, c.namespaces)
	for i := range nss {
		nss[i] = fmt.Sprintf("%s-%d", c.prefix, i)
	}
	if !c.keep {
		defer func() {
			args := append([]string{"delete", "namespace", "--wait=false", "--ignore-not-found"}, nss...)
			if out, err := exec.Command(c.kubectl, args...).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "deleting the namespaces: %v\n%s", err, out)
			}
		}()
	}
	// A namespace left by an earlier run (or still terminating) would
	// refuse the new workloads: gone first.
	args := append([]string{"delete", "namespace", "--ignore-not-found", "--wait=true", "--timeout=5m"}, nss...)
	if out, err := exec.CommandContext(ctx, c.kubectl, args...).CombinedOutput(); err != nil {
		return false, fmt.Errorf("deleting an earlier run's namespaces: %v\n%s", err, out)
	}
	start := time.Now()
	if err := seed(ctx, c, dir, nss); err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "seeded %d+1 Deployments over %d namespaces in %s\n", c.workloads, len(nss), time.Since(start).Round(time.Second))

	// Each run has its own undo journal, and the plugin's own clients.
	fixArgs := []string{"--fix=" + c.fix, "--yes", "--timeout=5m"}
	one := append([]string{"audit", "-n", nss[0], "-l", benchLabel + "=one"}, fixArgs...)
	oneRun, err := measure(ctx, c, filepath.Join(dir, "state-one"), one)
	if err != nil {
		return false, err
	}
	all := append([]string{"audit", "-A", "-l", benchLabel + "=all"}, fixArgs...)
	if c.parallel > 0 {
		all = append(all, "--parallel", strconv.Itoa(c.parallel))
	}
	allRun, err := measure(ctx, c, filepath.Join(dir, "state-all"), all)
	if err != nil {
		return false, err
	}
	parallel := "harden's default"
	if c.parallel > 0 {
		parallel = strconv.Itoa(c.parallel)
	}
	ratio := allRun.wall.Seconds() / oneRun.wall.Seconds()
	fmt.Printf("| run | workloads | --parallel | ready after | wall | fixed | rolled back | failed | exit |\n|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
	fmt.Printf("| one | 1 | — | %s | %.2f s | %d | %d | %d | %d |\n", c.readyAfter, oneRun.wall.Seconds(), oneRun.fixed, oneRun.rolledBack, oneRun.failed, oneRun.code)
	fmt.Printf("| all | %d | %s | %s | %.2f s | %d | %d | %d | %d |\n", c.workloads, parallel, c.readyAfter, allRun.wall.Seconds(), allRun.fixed, allRun.rolledBack, allRun.failed, allRun.code)
	fmt.Printf("\nall / one: %.1f× (target ≤ %g×); sequential estimate %d × one = %.0f s\n", ratio, c.target, c.workloads, float64(c.workloads)*oneRun.wall.Seconds())
	if len(allRun.cpu) > 0 {
		fmt.Printf("control plane CPU: one %s; all %s, %.2f s per workload\n", oneRun.cpu, allRun.cpu, allRun.cpu.total().Seconds()/float64(c.workloads))
	}
	ok := true
	if ratio > c.target {
		fmt.Printf("MISSED: fixing %d took %.1f× fixing one\n", c.workloads, ratio)
		ok = false
	}
	for _, r := range []struct {
		name string
		m    *measured
		want int
	}{{"one", oneRun, 1}, {"all", allRun, c.workloads}} {
		if r.m.fixed != r.want || r.m.code > 1 {
			fmt.Printf("MISSED: the run on %s fixed %d of %d (rolled back %d, failed %d, exit %d)\n", r.name, r.m.fixed, r.want, r.m.rolledBack, r.m.failed, r.m.code)
			ok = false
		}
	}
	return ok, nil
}

// seed applies, with kubectl apply -f, the namespaces and their
// Deployments: workload i in namespace i mod K, plus the one workload of
// the run on one in the first namespace. It waits for every rollout.
func seed(ctx context.Context, c config, dir string, nss []string) error {
	var b strings.Builder
	for _, ns := range nss {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {%s: \"true\"}}\n---\n", ns, benchLabel)
	}
	deploy := func(ns, name, which string) {
		fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s, labels: {app: %[2]s, %[3]s: %[4]s}}
spec:
  replicas: 2
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}, annotations: {harden-e2e/ready-after: %[5]q}}
    spec:
      containers:
      - name: app
        image: registry.example/%[2]s:1.0
        ports: [{name: http, containerPort: 8080}]
---
`, ns, name, benchLabel, which, c.readyAfter.String())
	}
	deploy(nss[0], "solo", "one")
	for i := range c.workloads {
		deploy(nss[i%len(nss)], fmt.Sprintf("web-%03d", i), "all")
	}
	path := filepath.Join(dir, "workloads.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, c.kubectl, "apply", "-f", path).CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply: %v\n%s", err, out)
	}
	for _, ns := range nss {
		cmd := exec.CommandContext(ctx, c.kubectl, "rollout", "status", "deployment", "-n", ns, "--timeout=10m")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("waiting for the Deployments of %s: %v\n%s", ns, err, out)
		}
	}
	return nil
}

// measured is one run of the plugin: its wall time, the counts of its
// summary line and its exit status.
type measured struct {
	wall                      time.Duration
	fixed, rolledBack, failed int
	code                      int
	// cpu is the CPU time the control plane used during the run (the
	// plugin's requests and what its rollouts make the controllers do).
	cpu cpuTimes
}

var summary = regexp.MustCompile(`summary: fixed (\d+), rolled back (\d+), failed (\d+)`)

// measure runs the plugin with XDG_STATE_HOME=state; exit 0 or 1 (fixes
// still pending) is a run, anything else an error.
func measure(ctx context.Context, c config, state string, args []string) (*measured, error) {
	cmd := exec.CommandContext(ctx, c.harden, args...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cpuBefore := readCPU(c.clusterDir)
	start := time.Now()
	err := cmd.Run()
	m := &measured{wall: time.Since(start), cpu: readCPU(c.clusterDir).since(cpuBefore)}
	if cmd.ProcessState != nil {
		m.code = cmd.ProcessState.ExitCode()
	}
	if err != nil && m.code != 1 && m.code != 2 {
		return nil, fmt.Errorf("%s %s: %v\n%s%s", c.harden, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	s := summary.FindStringSubmatch(out.String())
	if s == nil {
		return nil, fmt.Errorf("%s %s printed no summary (exit %d):\n%s%s", c.harden, strings.Join(args, " "), m.code, out.String(), errOut.String())
	}
	m.fixed, _ = strconv.Atoi(s[1])
	m.rolledBack, _ = strconv.Atoi(s[2])
	m.failed, _ = strconv.Atoi(s[3])
	fmt.Fprintf(os.Stderr, "kubectl-harden %s: %.2f s, exit %d\n", strings.Join(args, " "), m.wall.Seconds(), m.code)
	return m, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
