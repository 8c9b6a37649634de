package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Targets of the sweep (#16).
const (
	linearTolerance = 0.20            // wall grows linearly, ±20%
	sweepRSSTarget  = 100 * (1 << 20) // audit peak RSS ≤ 100 MiB, at 20,000 workloads too
)

// step is one scale of the sweep, measured.
type step struct {
	workloads, namespaces, pods int
	audit, raw, decode          []sample
	counted                     counted
	peers                       []peerResult
}

func (s step) auditWall() time.Duration { return medianWall(s.audit) }
func (s step) ratioRaw() float64        { return s.auditWall().Seconds() / medianWall(s.raw).Seconds() }

// ratioDecode is the audit against the decode floor: no target, it says
// how much of the gap to the raw floor any Go client pays.
func (s step) ratioDecode() float64 { return s.auditWall().Seconds() / medianWall(s.decode).Seconds() }

// parseScales reads "200,2000,20000": total workloads, ascending (the
// cluster keeps each step's objects, the next step adds to them).
func parseScales(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("scale %q is not a positive number of workloads", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("scales must ascend: %s", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// runSweep measures the audit and the raw floor at each scale (and the
// peers found in c.tools), on a cluster that holds exactly the bench's
// objects: run it on a cluster of its own (hack/cluster-up.sh with
// HARDEN_CLUSTER_LARGE=1), since every namespace counts.
func runSweep(ctx context.Context, c config) (bool, error) {
	scales, err := parseScales(c.scales)
	if err != nil {
		return false, err
	}
	if c.workloads < 4 || c.runs < 1 {
		return false, fmt.Errorf("need at least 4 workloads per namespace and 1 run")
	}
	b, err := setup(ctx, c, &c.harden, &c.rusage)
	if err != nil {
		return false, err
	}
	c = b.c
	peers := findPeers(c.tools)
	dir, cleanup, err := outDir(c.keep)
	if err != nil {
		return false, err
	}
	defer cleanup()
	var steps []step
	for _, n := range scales {
		namespaces := (n + c.workloads - 1) / c.workloads
		if err := b.onlyOurs(ctx, namespaces); err != nil {
			return false, err
		}
		start := time.Now()
		_, m, err := b.populate(ctx, namespaces)
		if err != nil {
			return false, fmt.Errorf("%d workloads: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %d workloads ready after %s\n", namespaces*c.workloads, time.Since(start).Round(time.Second))
		sdir := filepath.Join(dir, strconv.Itoa(n))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return false, err
		}
		st, err := b.measureStep(ctx, sdir, namespaces, peers)
		if err != nil {
			return false, fmt.Errorf("%d workloads: %w", n, err)
		}
		st.pods = namespaces * m.pods(len(b.nodes))
		steps = append(steps, st)
		// Each step as it ends: a sweep interrupted later keeps it.
		partial, _ := sweepTable(steps, c.runs)
		fmt.Fprint(os.Stderr, partial)
	}
	table, ok := sweepTable(steps, c.runs)
	fmt.Print(table)
	fmt.Printf("\nEach step: %d workloads per namespace (the mix of `make bench`), %d kwok nodes; wall and peak RSS: median and highest of %d runs after a warm-up; requests and bytes: one untimed run through a counting reverse proxy on loopback (bytes as the API server sent them, gzip included).\n",
		c.workloads, len(b.nodes), c.runs)
	return ok, nil
}

// onlyOurs makes sure the cluster holds no more bench namespaces than a
// step of this many: a larger earlier run (or an interrupted seeding)
// would be measured too.
func (b *bench) onlyOurs(ctx context.Context, namespaces int) error {
	l, err := b.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: benchLabel + "=true"})
	if err != nil {
		return err
	}
	if len(l.Items) > namespaces {
		return fmt.Errorf("the cluster holds %d bench namespaces, the step %d: sweep on a new cluster (hack/cluster-up.sh after hack/cluster-down.sh, with CLUSTER_DIR of its own)",
			len(l.Items), namespaces)
	}
	return nil
}

// measureStep measures the raw floor and the audit (turn about), counts
// their requests, and runs the peers once each.
func (b *bench) measureStep(ctx context.Context, dir string, namespaces int, peers []peer) (step, error) {
	st := step{workloads: namespaces * b.c.workloads, namespaces: namespaces}
	cmds := []command{b.rawCommand(dir), b.auditCommand(dir), b.decodeCommand(dir)}
	samples, err := measureAll(ctx, b.c.rusage, cmds, b.c.runs)
	if err != nil {
		return st, err
	}
	st.raw, st.audit, st.decode = samples[0], samples[1], samples[2]
	if err := checkAudit(filepath.Join(dir, "audit.json"), st.workloads); err != nil {
		return st, err
	}
	if st.counted, err = b.countLists(ctx, dir); err != nil {
		return st, err
	}
	st.peers, err = runPeers(ctx, b.c.rusage, peers, dir, b.c.peerTimeout)
	return st, err
}

// sweepTable prints one row per scale and the targets; ok when every
// target is met.
func sweepTable(steps []step, runs int) (string, bool) {
	var b strings.Builder
	ok := true
	fmt.Fprintf(&b, "| workloads | pods | audit wall | raw floor | audit ÷ raw | decode floor | audit ÷ decode | audit peak RSS | LIST requests (kinds × pages) | other requests | bytes read | wall growth | workloads growth | RSS growth |")
	peerNames := []string{}
	if len(steps) > 0 {
		for _, p := range steps[0].peers {
			peerNames = append(peerNames, p.name)
			fmt.Fprintf(&b, " %s |", p.name)
		}
	}
	b.WriteString("\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + strings.Repeat("---|", len(peerNames)) + "\n")
	for i, s := range steps {
		growth := func(f func(step) float64) string {
			if i == 0 {
				return ""
			}
			return fmt.Sprintf("%.2f×", f(s)/f(steps[i-1]))
		}
		lists := fmt.Sprintf("%d (%d)", s.counted.audit.lists, s.counted.expected)
		if !s.counted.ok() {
			lists += " FAIL"
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %.2f× | %s | %.2f× | %s | %s | %d | %s | %s | %s | %s |",
			s.workloads, s.pods, seconds(s.auditWall()), seconds(medianWall(s.raw)), s.ratioRaw(),
			seconds(medianWall(s.decode)), s.ratioDecode(), mib(peakRSS(s.audit)),
			lists, s.counted.audit.requests-s.counted.audit.lists, mib(s.counted.audit.bytes),
			growth(func(s step) float64 { return s.auditWall().Seconds() }),
			growth(func(s step) float64 { return float64(s.workloads) }),
			growth(func(s step) float64 { return float64(peakRSS(s.audit)) }))
		for _, p := range s.peers {
			fmt.Fprintf(&b, " %s |", p)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	check := func(pass bool, format string, args ...any) {
		ok = ok && pass
		fmt.Fprintf(&b, "- %s: "+format+"\n", append([]any{verdict(pass)}, args...)...)
	}
	for _, s := range steps {
		check(s.ratioRaw() <= rawTarget, "%d workloads: audit ÷ raw floor %.2f× (≤ %.2f×)", s.workloads, s.ratioRaw(), rawTarget)
		check(peakRSS(s.audit) <= sweepRSSTarget, "%d workloads: audit peak RSS %s (≤ %s)", s.workloads, mib(peakRSS(s.audit)), mib(sweepRSSTarget))
		check(s.counted.ok(), "%d workloads: LIST requests audit %d, raw floor %d, kinds × pages %d%s",
			s.workloads, s.counted.audit.lists, s.counted.raw.lists, s.counted.expected, diffNote(s.counted.differs))
	}
	for _, l := range linearity(steps) {
		check(*l.pass, "%s", l.text)
	}
	return b.String(), ok
}

func diffNote(d string) string {
	if d == "" {
		return ""
	}
	return "; first difference " + d
}

// linearity checks that wall time grows linearly with the workloads: the
// cost of one more workload (the slope between two steps) stays within
// ±linearTolerance from one pair of steps to the next. A fixed cost (the
// process's start, discovery) does not count against it, as it would in
// wall ÷ workloads.
func linearity(steps []step) []target {
	var out []target
	slope := func(a, b step) float64 {
		return (b.auditWall().Seconds() - a.auditWall().Seconds()) / float64(b.workloads-a.workloads)
	}
	for i := 2; i < len(steps); i++ {
		s0, s1 := slope(steps[i-2], steps[i-1]), slope(steps[i-1], steps[i])
		r := s1 / s0
		pass := s0 > 0 && math.Abs(r-1) <= linearTolerance
		out = append(out, target{pass: &pass, text: fmt.Sprintf(
			"wall linear: %.2f ms per workload from %d to %d, %.2f ms from %d to %d: %.2f× (1 ± %.2f)",
			s0*1000, steps[i-2].workloads, steps[i-1].workloads, s1*1000, steps[i-1].workloads, steps[i].workloads, r, linearTolerance)})
	}
	if len(steps) < 3 {
		pass := true
		out = append(out, target{pass: &pass, text: "wall linear: needs three scales, not checked"})
	}
	return out
}

// peer is another tool the sweep runs when its binary is in .tools.
type peer struct {
	name string
	args []string
}

// findPeers returns the peers whose binary is in dir: Popeye and Polaris,
// known to be killed at 20,000 workloads (Popeye #321, Polaris #868).
func findPeers(dir string) []peer {
	var out []peer
	for _, p := range []peer{
		{name: "popeye", args: []string{"-A", "-o", "json"}},
		{name: "polaris", args: []string{"audit", "--format", "json"}},
	} {
		bin, err := filepath.Abs(filepath.Join(dir, p.name))
		if err != nil {
			continue
		}
		if fi, err := os.Stat(bin); err == nil && !fi.IsDir() {
			p.args = append([]string{bin}, p.args...)
			out = append(out, p)
		}
	}
	return out
}

// peerResult is one run of a peer: its sample, or how it failed.
type peerResult struct {
	name string
	s    sample
}

func (p peerResult) String() string {
	if p.s.ended != "" {
		return p.s.ended
	}
	return fmt.Sprintf("%s, %s", seconds(p.s.wall), mib(p.s.rss))
}

// runPeers runs each peer once, through the launcher, for at most timeout:
// a crash or a timeout is recorded, not an error.
func runPeers(ctx context.Context, launcher string, peers []peer, dir string, timeout time.Duration) ([]peerResult, error) {
	var out []peerResult
	for _, p := range peers {
		c := command{label: p.name, args: p.args, out: filepath.Join(dir, p.name+".out"), timeout: timeout, peer: true}
		s, err := c.run(ctx, launcher)
		if err != nil {
			return nil, err
		}
		out = append(out, peerResult{name: p.name, s: s})
	}
	slices.SortFunc(out, func(a, b peerResult) int { return strings.Compare(a.name, b.name) })
	return out, nil
}
