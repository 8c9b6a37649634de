package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
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
}

// sample is one run of a command.
type sample struct {
	wall time.Duration
	rss  int64 // peak resident set size, bytes
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
	cmd := exec.CommandContext(ctx, launcher, append([]string{usage}, c.args...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && slices.Contains(c.codes, exit.ExitCode()) {
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
	if _, err := fmt.Sscan(string(data), &ns, &kib); err != nil {
		return sample{}, fmt.Errorf("reading %s: %w", usage, err)
	}
	return sample{wall: time.Duration(ns), rss: kib * 1024}, nil
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
