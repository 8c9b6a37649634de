package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// command is one measured child process; its stdout goes to a file.
type command struct {
	label string   // as shown in the table
	args  []string // program and arguments
	out   string   // file that receives stdout
	// codes are the exit codes that mean success: the audit exits 1 when
	// findings are pending, kube-score when it finds a critical issue.
	codes []int
	// timeout ends the command (and its children) when it runs longer;
	// 0: never.
	timeout time.Duration
	// peer: a crash or a timeout is a result to record (sample.ended), not
	// an error of the bench.
	peer bool
}

// sample is one run of a command.
type sample struct {
	wall time.Duration
	rss  int64 // peak resident set size, bytes
	// ended is how a peer's run ended: "" when it succeeded, else "crash
	// (exit N)", "killed (signal N)" or "timeout after D".
	ended string
}

// run runs the command once through the rusage launcher, which measures
// the child's wall time and the kernel's high-water mark of its resident
// memory.
func (c command) run(ctx context.Context, launcher string) (sample, error) {
	out, err := os.Create(c.out)
	if err != nil {
		return sample{}, err
	}
	defer out.Close()
	usage := c.out + ".rusage"
	os.Remove(usage)
	runCtx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := time.Now()
	cmd := exec.CommandContext(runCtx, launcher, append([]string{usage}, c.args...)...)
	// A process group of its own: a timeout kills the command's children
	// too, not the launcher alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err = cmd.Run()
	if c.peer && runCtx.Err() != nil && ctx.Err() == nil {
		return sample{wall: time.Since(start), ended: "timeout after " + c.timeout.String()}, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && (slices.Contains(c.codes, exit.ExitCode()) || c.peer) {
		err = nil
	}
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w: %s", strings.Join(c.args, " "), err, lastLines(stderr.String(), 5))
	}
	data, err := os.ReadFile(usage)
	if err != nil {
		return sample{}, err
	}
	var ns, kib int64
	var how string
	if _, err := fmt.Sscan(string(data), &ns, &kib, &how); err != nil {
		return sample{}, fmt.Errorf("reading %s: %w", usage, err)
	}
	return sample{wall: time.Duration(ns), rss: kib * 1024, ended: c.ending(how)}, nil
}

// ending says how a run ended, from the launcher's "exit:N" or
// "signal:N": "" for success (an exit code of c.codes or 0).
func (c command) ending(how string) string {
	kind, n, _ := strings.Cut(how, ":")
	code, _ := strconv.Atoi(n)
	switch {
	case kind == "signal":
		return fmt.Sprintf("killed (signal %d)", code)
	case code == 0 || slices.Contains(c.codes, code):
		return ""
	case code == 137:
		return "crash (exit 137: SIGKILL, the OOM killer's)"
	default:
		return fmt.Sprintf("crash (exit %d)", code)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// measureAll runs every command once to warm up (API server caches, page
// cache), then runs them in turns, so that a drift in the machine's load
// falls on all of them alike.
func measureAll(ctx context.Context, launcher string, cmds []command, runs int) ([][]sample, error) {
	out := make([][]sample, len(cmds))
	for round := -1; round < runs; round++ {
		for i, c := range cmds {
			s, err := c.run(ctx, launcher)
			if err != nil {
				return nil, err
			}
			if round >= 0 {
				out[i] = append(out[i], s)
			}
		}
		if round >= 0 {
			fmt.Fprintf(os.Stderr, "bench: run %d of %d done\n", round+1, runs)
		}
	}
	return out, nil
}

// median of the wall times.
func medianWall(s []sample) time.Duration {
	w := make([]time.Duration, len(s))
	for i := range s {
		w[i] = s[i].wall
	}
	slices.Sort(w)
	if len(w)%2 == 1 {
		return w[len(w)/2]
	}
	return (w[len(w)/2-1] + w[len(w)/2]) / 2
}

// peakRSS is the highest of the runs' peaks.
func peakRSS(s []sample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.rss)
	}
	return m
}

// sum adds two commands' samples run by run (a pipeline of two steps).
func sum(a, b []sample) []sample {
	out := make([]sample, len(a))
	for i := range a {
		out[i] = sample{wall: a[i].wall + b[i].wall, rss: max(a[i].rss, b[i].rss)}
	}
	return out
}
