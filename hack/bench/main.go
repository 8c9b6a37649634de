// Command bench measures `kubectl harden audit -A -o json` against its
// peers on the local cluster: the raw floor (the audit's own LISTs in
// protobuf, bytes discarded: raw.go), the floor (`kubectl get` of the same
// kinds) and kube-score scoring the same objects dumped to YAML; then one
// workload (`kubectl harden deployment/x -o json` against `kubectl get`,
// and the UI's first frame in a real terminal). It creates the objects
// first (idempotently), waits until the cluster is steady, and prints one
// Markdown table; it exits 1 when a target is missed and 2 on an error.
//
//	go run ./hack/bench -namespaces 4 -workloads 10   # or BENCH_NAMESPACES=4 …
//	bench -scales 200,2000,20000                      # the sweep (sweep.go)
//	bench -raw                                        # the raw floor alone
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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// Targets of the issue.
const (
	floorTarget = 1.0  // audit wall ≤ 1.0× the floor
	rssTarget   = 2.0  // audit peak RSS ≤ 2× the floor's JSON
	rawTarget   = 1.25 // audit wall ≤ 1.25× the raw floor (#16)
	// frameTarget: from exec to the UI's first frame (#16).
	frameTarget = 300 * time.Millisecond
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
	raw                                      bool   // -raw: the raw floor alone
	decode                                   bool   // -decode: with -raw, the decode floor
	chunk                                    int64  // objects per LIST page, the audit's --chunk-size
	scales                                   string // the sweep's total workloads, e.g. 200,2000,20000
	peerTimeout                              time.Duration
	tools                                    string // where peers (popeye, polaris) are looked for
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
	flag.BoolVar(&c.raw, "raw", false, "only the raw floor: list what the audit lists, in protobuf; print the pages, items and bytes read as JSON")
	flag.BoolVar(&c.decode, "decode", false, "with -raw, the decode floor: also decode each page into its typed list, as every Go client does")
	flag.Int64Var(&c.chunk, "chunk", 500, "objects per LIST page (the audit's --chunk-size default)")
	flag.StringVar(&c.scales, "scales", envStr("BENCH_SCALES", ""), "the sweep: total workloads per step, ascending, e.g. 200,2000,20000 (BENCH_SCALES); -workloads per namespace")
	flag.DurationVar(&c.peerTimeout, "peer-timeout", 10*time.Minute, "how long a peer (popeye, polaris) may run before it counts as a timeout")
	flag.StringVar(&c.tools, "tools", envStr("BENCH_TOOLS", ".tools"), "where the peers' binaries are looked for (popeye, polaris)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if c.raw {
		if err := rawMain(ctx, c.chunk, c.decode); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		return
	}
	run := run
	if c.scales != "" {
		run = runSweep
	}
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

// bench is what every mode shares: the resolved binaries, the cluster's
// client and its kwok nodes.
type bench struct {
	c      config
	self   string // this program, for its -raw mode
	cfg    *rest.Config
	client kubernetes.Interface
	nodes  []corev1.Node
}

// setup resolves the binaries (need: the config fields that name them)
// and connects to $KUBECONFIG's cluster.
func setup(ctx context.Context, c config, need ...*string) (*bench, error) {
	for _, bin := range need {
		abs, err := filepath.Abs(*bin)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("%s is missing (make bench builds and installs it)", abs)
		}
		*bin = abs
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return nil, fmt.Errorf("KUBECONFIG is not set")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	nodes, err := kwokNodes(ctx, client)
	if err != nil {
		return nil, err
	}
	return &bench{c: c, self: self, cfg: cfg, client: client, nodes: nodes}, nil
}

// populate makes namespaces × the mix of c.workloads and waits until
// every pod is ready.
func (b *bench) populate(ctx context.Context, namespaces int) ([]string, mix, error) {
	m := mixOf(b.c.workloads)
	names := make([]string, namespaces)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%02d", b.c.prefix, i)
	}
	if err := ensurePodCapacity(ctx, b.client, b.nodes, namespaces*m.pods(len(b.nodes))); err != nil {
		return nil, m, err
	}
	s := &seeder{client: b.client, namespaces: names, mix: m, concurrency: b.c.concurrency}
	if err := s.seed(ctx); err != nil {
		return nil, m, err
	}
	return names, m, waitSteady(ctx, b.client, names, m, len(b.nodes), b.c.timeout)
}

// outDir is where the commands' outputs go, and its cleanup.
func outDir(keep string) (string, func(), error) {
	if keep == "" {
		dir, err := os.MkdirTemp("", "harden-bench-")
		return dir, func() { os.RemoveAll(dir) }, err
	}
	return keep, func() {}, os.MkdirAll(keep, 0o755)
}

// rawCommand is the raw floor as a measured command: this program's -raw
// mode, run through the launcher like the others.
func (b *bench) rawCommand(dir string) command {
	return command{label: "raw floor: the audit's LISTs in protobuf, bytes discarded (`bench -raw`)",
		args: []string{b.self, "-raw", "-chunk", strconv.FormatInt(b.c.chunk, 10)}, out: filepath.Join(dir, "raw.json")}
}

func (b *bench) auditCommand(dir string) command {
	return command{label: "`kubectl harden audit -A -o json`", args: []string{b.c.harden, "audit", "-A", "-o", "json",
		"--chunk-size", strconv.FormatInt(b.c.chunk, 10)}, out: filepath.Join(dir, "audit.json"), codes: []int{1}}
}

func run(ctx context.Context, c config) (bool, error) {
	if c.namespaces < 1 || c.workloads < 4 || c.runs < 1 {
		return false, fmt.Errorf("need at least 1 namespace, 4 workloads per namespace and 1 run")
	}
	b, err := setup(ctx, c, &c.harden, &c.kubeScore, &c.rusage)
	if err != nil {
		return false, err
	}
	c = b.c
	namespaces, m, err := b.populate(ctx, c.namespaces)
	if err != nil {
		return false, err
	}
	dir, cleanup, err := outDir(c.keep)
	if err != nil {
		return false, err
	}
	defer cleanup()
	floorJSON, dumpYAML := filepath.Join(dir, "floor.json"), filepath.Join(dir, "dump.yaml")
	cmds := []command{
		{label: "floor: `kubectl get " + strings.Join(inspect.ListedResources, ",") + " -A -o json`",
			args: []string{c.kubectl, "get", strings.Join(inspect.ListedResources, ","), "-A", "-o", "json"}, out: floorJSON},
		b.auditCommand(dir),
		{label: "dump: `kubectl get " + strings.Join(dumpResources, ",") + " -A -o yaml`",
			args: []string{c.kubectl, "get", strings.Join(dumpResources, ","), "-A", "-o", "yaml"}, out: dumpYAML},
		{label: "`kube-score score` of the dump",
			args: []string{c.kubeScore, "score", "--output-format", "ci", dumpYAML}, out: filepath.Join(dir, "kube-score.txt"), codes: []int{1}},
		b.rawCommand(dir),
		b.decodeCommand(dir),
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
		floor: samples[0], audit: samples[1], dump: samples[2], score: samples[3], raw: samples[4], decode: samples[5], floorBytes: fi.Size(),
		labels: [6]string{cmds[0].label, cmds[1].label, cmds[2].label, cmds[3].label, cmds[4].label, cmds[5].label}, runs: c.runs,
	}
	counted, err := b.countLists(ctx, dir)
	if err != nil {
		return false, err
	}
	res.extra = append(res.extra, counted.targets()...)
	single, err := b.single(ctx, dir, namespaces[0], "web-00")
	if err != nil {
		return false, err
	}
	res.extra = append(res.extra, single...)
	fmt.Print(res.table())
	fmt.Printf("\nScale: %d namespaces × %d workloads (%d Deployments of 2 replicas, %d StatefulSets, %d DaemonSets, %d CronJobs each), %d bench pods on %d nodes.\n",
		c.namespaces, c.workloads, m.deployments, m.statefulSets, m.daemonSets, m.cronJobs, c.namespaces*m.pods(len(b.nodes)), len(b.nodes))
	fmt.Printf("Requests and bytes: counted by a reverse proxy on loopback in front of the API server, in a run of each command of its own (not timed).\n")
	return res.ok(), nil
}

// rawMain is the -raw mode: the raw floor against $KUBECONFIG, with the
// audit's client limits (internal/cli's session: 50 QPS, burst 300).
func rawMain(ctx context.Context, chunk int64, decode bool) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 300
	return runRaw(ctx, cfg, chunk, decode, os.Stdout)
}

// rawClient is an unversioned REST client of cfg, without the discovery
// client's 32 s timeout (the typed clients' LISTs send none).
func rawClient(cfg *rest.Config) (rest.Interface, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return rest.UnversionedRESTClientFor(cfg)
}

// decodeCommand is the decode floor: the raw floor's LISTs, each page also
// decoded into its typed list (this program's -raw -decode mode). No
// target: it is what any Go client pays over the raw floor before doing
// anything with what it read.
func (b *bench) decodeCommand(dir string) command {
	return command{label: "decode floor: the raw floor, each page decoded into its typed list (`bench -raw -decode`)",
		args: []string{b.self, "-raw", "-decode", "-chunk", strconv.FormatInt(b.c.chunk, 10)}, out: filepath.Join(dir, "decode.json")}
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
