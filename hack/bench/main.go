// Command bench measures `kubectl harden audit -A -o json` against its
// peers on the local cluster: the floor (`kubectl get` of the same kinds)
// and kube-score scoring the same objects dumped to YAML. It creates the
// objects first (idempotently), waits until the cluster is steady, and
// prints one Markdown table; it exits 1 when a target is missed and 2 on
// an error.
//
//	go run ./hack/bench -namespaces 4 -workloads 10   # or BENCH_NAMESPACES=4 …
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// Targets of the issue.
const (
	floorTarget = 1.0 // audit wall ≤ 1.0× the floor
	rssTarget   = 2.0 // audit peak RSS ≤ 2× the floor's JSON
)

// dumpResources are what kube-score is given: the workloads and the objects
// it checks them against. Pods are left out: it would score each as a
// workload of its own.
var dumpResources = []string{"deployments", "statefulsets", "daemonsets", "jobs", "cronjobs",
	"services", "poddisruptionbudgets", "horizontalpodautoscalers", "networkpolicies"}

type config struct {
	namespaces, workloads, runs, concurrency int
	prefix, harden, kubeScore, kubectl       string
	rusage                                   string
	timeout                                  time.Duration
	keep                                     string
}

func main() {
	var c config
	flag.IntVar(&c.namespaces, "namespaces", envInt("BENCH_NAMESPACES", 40), "namespaces to create (BENCH_NAMESPACES)")
	flag.IntVar(&c.workloads, "workloads", envInt("BENCH_WORKLOADS", 50), "workloads per namespace, at least 4 (BENCH_WORKLOADS)")
	flag.IntVar(&c.runs, "runs", envInt("BENCH_RUNS", 5), "measured runs of each command, after one warm-up (BENCH_RUNS)")
	flag.IntVar(&c.concurrency, "concurrency", 16, "objects applied at once")
	flag.StringVar(&c.prefix, "prefix", envStr("BENCH_PREFIX", "bench"), "namespace name prefix (BENCH_PREFIX)")
	flag.StringVar(&c.harden, "harden", envStr("BENCH_HARDEN", "bin/kubectl-harden"), "the kubectl-harden binary")
	flag.StringVar(&c.kubeScore, "kube-score", envStr("BENCH_KUBE_SCORE", ".tools/kube-score"), "the kube-score binary")
	flag.StringVar(&c.rusage, "rusage", envStr("BENCH_RUSAGE", ".tools/bench-rusage"), "the launcher that measures each command (built from hack/bench/rusage)")
	flag.StringVar(&c.kubectl, "kubectl", envStr("KUBECTL", "kubectl"), "the kubectl binary")
	flag.DurationVar(&c.timeout, "timeout", 20*time.Minute, "how long to wait for the cluster to settle")
	flag.StringVar(&c.keep, "keep", "", "keep the commands' outputs in this folder")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "bench: a target is missed")
		os.Exit(1)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
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

func run(ctx context.Context, c config) (bool, error) {
	if c.namespaces < 1 || c.workloads < 4 || c.runs < 1 {
		return false, fmt.Errorf("need at least 1 namespace, 4 workloads per namespace and 1 run")
	}
	for _, bin := range []*string{&c.harden, &c.kubeScore, &c.rusage} {
		abs, err := filepath.Abs(*bin)
		if err != nil {
			return false, err
		}
		if _, err := os.Stat(abs); err != nil {
			return false, fmt.Errorf("%s is missing (make bench builds and installs it)", abs)
		}
		*bin = abs
	}
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return false, fmt.Errorf("KUBECONFIG is not set")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return false, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false, err
	}

	m := mixOf(c.workloads)
	nodes, err := kwokNodes(ctx, client)
	if err != nil {
		return false, err
	}
	namespaces := make([]string, c.namespaces)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("%s-%02d", c.prefix, i)
	}
	if err := ensurePodCapacity(ctx, client, nodes, c.namespaces*m.pods(len(nodes))); err != nil {
		return false, err
	}
	s := &seeder{client: client, namespaces: namespaces, mix: m, concurrency: c.concurrency}
	if err := s.seed(ctx); err != nil {
		return false, err
	}
	if err := waitSteady(ctx, client, namespaces, m, len(nodes), c.timeout); err != nil {
		return false, err
	}

	dir := c.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "harden-bench-"); err != nil {
			return false, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	floorJSON, dumpYAML := filepath.Join(dir, "floor.json"), filepath.Join(dir, "dump.yaml")
	cmds := []command{
		{label: "floor: `kubectl get " + strings.Join(inspect.ListedResources, ",") + " -A -o json`",
			args: []string{c.kubectl, "get", strings.Join(inspect.ListedResources, ","), "-A", "-o", "json"}, out: floorJSON},
		{label: "`kubectl harden audit -A -o json`",
			args: []string{c.harden, "audit", "-A", "-o", "json"}, out: filepath.Join(dir, "audit.json"), codes: []int{1}},
		{label: "dump: `kubectl get " + strings.Join(dumpResources, ",") + " -A -o yaml`",
			args: []string{c.kubectl, "get", strings.Join(dumpResources, ","), "-A", "-o", "yaml"}, out: dumpYAML},
		{label: "`kube-score score` of the dump",
			args: []string{c.kubeScore, "score", "--output-format", "ci", dumpYAML}, out: filepath.Join(dir, "kube-score.txt"), codes: []int{1}},
	}
	samples, err := measureAll(ctx, c.rusage, cmds, c.runs)
	if err != nil {
		return false, err
	}
	if err := checkAudit(filepath.Join(dir, "audit.json"), c.namespaces*c.workloads); err != nil {
		return false, err
	}
	fi, err := os.Stat(floorJSON)
	if err != nil {
		return false, err
	}
	res := results{
		floor: samples[0], audit: samples[1], dump: samples[2], score: samples[3], floorBytes: fi.Size(),
		labels: [4]string{cmds[0].label, cmds[1].label, cmds[2].label, cmds[3].label}, runs: c.runs,
	}
	fmt.Print(res.table())
	fmt.Printf("\nScale: %d namespaces × %d workloads (%d Deployments of 2 replicas, %d StatefulSets, %d DaemonSets, %d CronJobs each), %d bench pods on %d nodes.\n",
		c.namespaces, c.workloads, m.deployments, m.statefulSets, m.daemonSets, m.cronJobs, c.namespaces*m.pods(len(nodes)), len(nodes))
	return res.ok(), nil
}

// checkAudit makes sure the audit saw at least the bench's workloads: a
// fast audit that read nothing proves nothing.
func checkAudit(path string, atLeast int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep struct {
		Kind      string `json:"kind"`
		Workloads int    `json:"workloads"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("the audit printed no JSON report: %w", err)
	}
	if rep.Kind != "AuditReport" || rep.Workloads < atLeast {
		return fmt.Errorf("the audit reported %d workloads (kind %q), the bench made %d", rep.Workloads, rep.Kind, atLeast)
	}
	return nil
}
