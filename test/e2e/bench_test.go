package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// `make bench` at a tiny scale: it creates its objects, waits for their
// pods, measures the audit, the raw floor, the floor and kube-score, one
// workload and the UI's first frame, and prints a table whose ratios are
// computed from what it measured. Timings are not asserted: a target may
// be missed at this scale (exit 1), never an error (exit 2). What is
// counted is: the audit sends exactly the raw floor's LISTs.
func TestBenchTinyScale(t *testing.T) {
	tools := exec.Command("make", "bench-tools")
	tools.Dir = env.root
	if out, err := tools.CombinedOutput(); err != nil {
		t.Fatalf("make bench-tools: %v\n%s", err, out)
	}
	prefix := "e2e-bench-" + randomHex(t)
	t.Cleanup(func() {
		for i := range 2 {
			err := env.client.CoreV1().Namespaces().Delete(context.Background(), fmt.Sprintf("%s-%02d", prefix, i), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting a bench namespace: %v", err)
			}
		}
	})
	keep := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.root, ".tools", "bench"), "-prefix", prefix, "-keep", keep,
		"-harden", filepath.Join(env.binDir, "kubectl-harden"))
	cmd.Dir = env.root
	cmd.Env = append(cmd.Environ(), "BENCH_NAMESPACES=2", "BENCH_WORKLOADS=5", "BENCH_RUNS=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code != 1 {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}

	rows := tableRows(t, stdout.String())
	byCommand := map[string][]string{}
	for _, r := range rows {
		byCommand[r[0]] = r
	}
	ratio := regexp.MustCompile(`^\d+\.\d\d×$`)
	wall := regexp.MustCompile(`^\d+\.\d\d s$`)
	rss := regexp.MustCompile(`^\d+\.\d MiB$`)
	audit := byCommand["`kubectl harden audit -A -o json`"]
	if audit == nil {
		t.Fatalf("no audit row in:\n%s", stdout.String())
	}
	for _, r := range rows {
		if r[0] == "" {
			continue
		}
		if !wall.MatchString(r[1]) || !rss.MatchString(r[2]) || !ratio.MatchString(r[3]) {
			t.Errorf("row %q: wall %q, peak RSS %q, ratio %q are not measured figures", r[0], r[1], r[2], r[3])
		}
		if r[2] == "0.0 MiB" {
			t.Errorf("row %q: no peak RSS was measured", r[0])
		}
	}
	floor := rows[0]
	if !strings.HasPrefix(floor[0], "floor: `kubectl get ") || floor[3] != "1.00×" {
		t.Errorf("the first row is not the floor: %q", floor)
	}
	// The floor lists what the audit lists.
	for _, res := range []string{"pods", "deployments", "poddisruptionbudgets", "networkpolicies", "namespaces", "nodes"} {
		if !strings.Contains(floor[0], res) {
			t.Errorf("the floor does not list %s: %q", res, floor[0])
		}
	}
	// The audit's ratio to the floor is its wall time over the floor's
	// (the table rounds both to 10 ms, the ratio to 0.01).
	aw, fw := seconds(t, audit[1]), seconds(t, floor[1])
	if got := ratioOf(t, audit[3]); fw > 0.005 && (got < (aw-0.005)/(fw+0.005)-0.005 || got > (aw+0.005)/(fw-0.005)+0.005) {
		t.Errorf("audit ratio %v, but %v s / %v s", got, aw, fw)
	}
	raw := rows[1]
	if !strings.HasPrefix(raw[0], "raw floor: ") || !ratio.MatchString(raw[3]) {
		t.Errorf("the second row is not the raw floor: %q", raw)
	}
	if decode := rows[2]; !strings.HasPrefix(decode[0], "decode floor: ") || !ratio.MatchString(decode[3]) {
		t.Errorf("the third row is not the decode floor: %q", decode)
	}
	if !strings.Contains(stdout.String(), "wall ÷ decode floor: ") {
		t.Errorf("no audit ÷ decode floor ratio in:\n%s", stdout.String())
	}
	var targets []string
	passed := true
	for _, r := range rows {
		if r[5] == "pass" || r[5] == "FAIL" {
			targets = append(targets, r[4])
			passed = passed && r[5] == "pass"
		}
		// Counted, not timed: the audit's LISTs are the raw floor's.
		if strings.HasPrefix(r[4], "LIST requests = kinds × pages") && r[5] != "pass" {
			t.Errorf("the audit's LISTs are not the raw floor's: %q", r[4])
		}
	}
	if len(targets) != 6 {
		t.Errorf("want 6 targets, got %q", targets)
	}
	for _, want := range []string{"wall ÷ raw floor: ", "UI first frame, exec → first render", "LIST requests = kinds × pages"} {
		if !strings.Contains(strings.Join(targets, "\n"), want) {
			t.Errorf("no target %q in %q", want, targets)
		}
	}
	if !strings.Contains(stdout.String(), "one workload: `kubectl harden deployment/web-00 -o json` ÷ `kubectl get deployment/web-00 -o json`: ") {
		t.Errorf("no single-workload ratio in:\n%s", stdout.String())
	}
	if passed != (code == 0) {
		t.Errorf("targets all passed: %v, but the bench exited %d", passed, code)
	}
	if !strings.Contains(stdout.String(), "Scale: 2 namespaces × 5 workloads") {
		t.Errorf("no scale line in:\n%s", stdout.String())
	}
	// kube-score scored the dumped objects.
	if out := runCmd(t, nil, "grep", "-c", prefix, filepath.Join(keep, "kube-score.txt")); out.code != 0 {
		t.Errorf("kube-score's output names no bench object: %s", out)
	}
}

// tableRows parses the bench's Markdown table: the cells of each row after
// the header and its separator.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| command ") {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 6 {
			t.Fatalf("row with %d cells: %q", len(cells), line)
		}
		rows = append(rows, cells)
	}
	if len(rows) < 5 {
		t.Fatalf("no table in:\n%s", out)
	}
	return rows
}

func seconds(t *testing.T, cell string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(cell, " s"), 64)
	if err != nil {
		t.Fatalf("wall %q: %v", cell, err)
	}
	return v
}

func ratioOf(t *testing.T, cell string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(cell, "×"), 64)
	if err != nil {
		t.Fatalf("ratio %q: %v", cell, err)
	}
	return v
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
