package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
)

// counted is one untimed run of the audit and of the raw floor through the
// counting proxy.
type counted struct {
	audit, raw traffic
	// expected is kinds × pages: from the items the raw floor counted.
	expected int
	// differs is the first LIST one sent and the other did not ("" when
	// none).
	differs string
}

// countLists runs the audit, then the raw floor, through a counting proxy.
func (b *bench) countLists(ctx context.Context, dir string) (counted, error) {
	p, err := startCounter(b.cfg, dir)
	if err != nil {
		return counted{}, err
	}
	defer p.Close()
	var out counted
	audit := b.auditCommand(dir)
	if _, err := runWith(ctx, p.kubeconfig, audit.args, audit.codes); err != nil {
		return out, err
	}
	out.audit = trafficOf(p.take())
	raw := b.rawCommand(dir)
	stdout, err := runWith(ctx, p.kubeconfig, raw.args, nil)
	if err != nil {
		return out, err
	}
	out.raw = trafficOf(p.take())
	var read map[string]*listed
	if err := json.Unmarshal(stdout, &read); err != nil {
		return out, fmt.Errorf("the raw floor's output: %w", err)
	}
	if out.expected, err = expectedPages(read, int(b.c.chunk)); err != nil {
		return out, err
	}
	out.differs = sameLists(out.audit, out.raw)
	return out, nil
}

// runWith runs args with KUBECONFIG set to kubeconfig and returns its
// stdout; exit codes 0 and codes are success.
func runWith(ctx context.Context, kubeconfig string, args []string, codes []int) ([]byte, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && slices.Contains(codes, exit.ExitCode()) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s through the counting proxy: %w: %s", args[0], err, lastLines(stderr.String(), 5))
	}
	return stdout.Bytes(), nil
}

// ok: the audit sent the raw floor's LISTs, and those are kinds × pages.
func (c counted) ok() bool {
	return c.differs == "" && c.audit.lists == c.expected && c.raw.lists == c.expected
}

// targets are the counted run's rows of the table.
func (c counted) targets() []target {
	lists := fmt.Sprintf("LIST requests = kinds × pages: audit %d, raw floor %d, expected %d", c.audit.lists, c.raw.lists, c.expected)
	if c.differs != "" {
		lists += "; first difference: " + c.differs
	}
	return []target{
		{text: lists, pass: ref(c.ok())},
		{text: fmt.Sprintf("read: audit %s in %s (%d other: discovery, dry-runs), raw floor %s",
			mib(c.audit.bytes), plural(c.audit.requests, "requests"), c.audit.requests-c.audit.lists, mib(c.raw.bytes))},
	}
}
