package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// single measures one workload: `kubectl harden deployment/NAME -o json`
// against `kubectl get deployment/NAME -o json` (printed, no target), and
// the UI's first frame (target: frameTarget).
func (b *bench) single(ctx context.Context, dir, namespace, name string) ([]target, error) {
	obj := "deployment/" + name
	cmds := []command{
		{label: "get", args: []string{b.c.kubectl, "get", obj, "-n", namespace, "-o", "json"}, out: filepath.Join(dir, "get-one.json")},
		{label: "harden", args: []string{b.c.harden, obj, "-n", namespace, "-o", "json"}, out: filepath.Join(dir, "harden-one.json"), codes: []int{1}},
	}
	samples, err := measureAll(ctx, b.c.rusage, cmds, max(b.c.runs, 3))
	if err != nil {
		return nil, err
	}
	get, harden := medianWall(samples[0]), medianWall(samples[1])
	frame, err := b.firstFrames(ctx, dir, namespace, obj, max(b.c.runs, 3))
	if err != nil {
		return nil, err
	}
	return []target{
		{text: fmt.Sprintf("one workload: `kubectl harden %s -o json` ÷ `kubectl get %s -o json`: %.2f× (%s ÷ %s)",
			obj, obj, harden.Seconds()/get.Seconds(), seconds(harden), seconds(get))},
		{text: fmt.Sprintf("UI first frame, exec → first render in a terminal: %d ms (median of %d; ≤ %d ms)",
			frame.Milliseconds(), max(b.c.runs, 3), frameTarget.Milliseconds()), pass: ref(frame <= frameTarget)},
	}, nil
}

// firstFrames opens the UI runs times (after a warm-up) and returns the
// median time from exec to its first frame.
func (b *bench) firstFrames(ctx context.Context, dir, namespace, ref string, runs int) (time.Duration, error) {
	var all []time.Duration
	for i := -1; i < runs; i++ {
		d, err := firstFrame(ctx, dir, b.c.harden, ref, namespace)
		if err != nil {
			return 0, err
		}
		if i >= 0 {
			all = append(all, d)
		}
	}
	slices.Sort(all)
	return all[len(all)/2], nil
}

// firstFrame opens `kubectl harden REF -n NAMESPACE` in a real terminal (a
// detached tmux session on a server of its own, 160×48) with
// HARDEN_TRACE_FIRST_FRAME set, and returns the time from the exec (stamped
// by the shell just before it) to the first frame the UI rendered (stamped
// by internal/tui's trace hook). The session's server is then stopped.
func firstFrame(ctx context.Context, dir, harden, ref, namespace string) (time.Duration, error) {
	start, frame := filepath.Join(dir, "exec.ns"), filepath.Join(dir, "frame.ns")
	os.Remove(start)
	os.Remove(frame)
	// A server per run: a new one on the socket of one just killed may
	// find it still exiting.
	sessions++
	socket := fmt.Sprintf("harden-bench-%d-%d", os.Getpid(), sessions)
	script := fmt.Sprintf("date +%%s%%N > %s; exec env HARDEN_TRACE_FIRST_FRAME=%s KUBECONFIG=%s %s %s -n %s",
		quote(start), quote(frame), quote(os.Getenv("KUBECONFIG")), quote(harden), quote(ref), quote(namespace))
	tmux := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tmux %s: %w: %s", args[0], err, out)
		}
		return nil
	}
	if err := tmux("new-session", "-d", "-x", "160", "-y", "48", "sh", "-c", script); err != nil {
		return 0, fmt.Errorf("the UI needs a terminal: %w", err)
	}
	defer tmux("kill-server") //nolint:errcheck // the session may have ended
	deadline := time.Now().Add(30 * time.Second)
	for {
		t0, err0 := readNanos(start)
		t1, err1 := readNanos(frame)
		if err0 == nil && err1 == nil {
			return time.Duration(t1 - t0), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the UI of %s rendered no frame in 30 s (HARDEN_TRACE_FIRST_FRAME unsupported?)", ref)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sessions counts the tmux servers started.
var sessions int

// readNanos reads a file holding Unix nanoseconds on one line.
func readNanos(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if !strings.HasSuffix(string(data), "\n") {
		return 0, fmt.Errorf("%s: not written yet", path)
	}
	return strconv.ParseInt(s, 10, 64)
}

// quote quotes s for sh.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
