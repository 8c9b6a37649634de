package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// buildRusage builds the launcher the bench measures commands with.
func buildRusage(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rusage")
	if out, err := exec.Command("go", "build", "-o", bin, "./rusage").CombinedOutput(); err != nil {
		t.Fatalf("building the launcher: %v\n%s", err, out)
	}
	return bin
}

func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// Peers found in .tools run once each; a crash, a kill by signal and a
// timeout are recorded as such, and a success as its figures.
func TestPeersCrashKillAndTimeoutAreRecorded(t *testing.T) {
	launcher := buildRusage(t)
	tools, out := t.TempDir(), t.TempDir()
	for _, tc := range []struct {
		body, want string
		timeout    time.Duration
	}{
		{"exit 137", "crash (exit 137: SIGKILL, the OOM killer's)", time.Minute},
		{"kill -9 $$", "killed (signal 9)", time.Minute},
		{"exec sleep 30", "timeout after 300ms", 300 * time.Millisecond},
		{"exit 3", "crash (exit 3)", time.Minute},
		{"echo '{}'", "", time.Minute},
	} {
		script(t, tools, "popeye", tc.body)
		peers := findPeers(tools)
		if len(peers) != 1 || peers[0].name != "popeye" {
			t.Fatalf("peers found: %v", peers)
		}
		start := time.Now()
		res, err := runPeers(context.Background(), launcher, peers, out, tc.timeout)
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if got := res[0].s.ended; got != tc.want {
			t.Errorf("%s: ended %q, want %q", tc.body, got, tc.want)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("%s: the timeout did not end the peer's children", tc.body)
		}
		if tc.want == "" && (res[0].s.rss == 0 || !strings.Contains(res[0].String(), "MiB")) {
			t.Errorf("a successful run has no figures: %s", res[0])
		}
	}
	if peers := findPeers(t.TempDir()); len(peers) != 0 {
		t.Errorf("peers found in an empty folder: %v", peers)
	}
}

func stepOf(workloads int, wall time.Duration) step {
	return step{workloads: workloads, audit: []sample{{wall: wall}}}
}

func TestLinearity(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		steps []step
		pass  bool
	}{
		// 100 ms to start, then 0.5 ms per workload.
		{"linear with a fixed cost", []step{stepOf(200, 200*ms), stepOf(2000, 1100*ms), stepOf(20000, 10100*ms)}, true},
		{"quadratic", []step{stepOf(200, 200*ms), stepOf(2000, 1100*ms), stepOf(20000, 40000*ms)}, false},
		{"flat then steep", []step{stepOf(200, 200*ms), stepOf(2000, 200*ms), stepOf(20000, 10000*ms)}, false},
		{"one in five over", []step{stepOf(200, 200*ms), stepOf(2000, 1100*ms), stepOf(20000, 11900*ms)}, true},
		{"one in four over", []step{stepOf(200, 200*ms), stepOf(2000, 1100*ms), stepOf(20000, 12500*ms)}, false},
	} {
		got := linearity(tc.steps)
		if len(got) != 1 || *got[0].pass != tc.pass {
			t.Errorf("%s: %v", tc.name, got[0].text)
		}
	}
	if got := linearity([]step{stepOf(200, time.Second), stepOf(2000, 2*time.Second)}); len(got) != 1 || !strings.Contains(got[0].text, "not checked") {
		t.Errorf("two scales: %v", got)
	}
}

func TestParseScales(t *testing.T) {
	if got, err := parseScales("200, 2000,20000"); err != nil || len(got) != 3 || got[2] != 20000 {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"2000,200", "0", "x", "200,200"} {
		if _, err := parseScales(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The proxy forwards with the bench's credentials and counts requests,
// LISTs and the bytes of the bodies; its kubeconfig needs none.
func TestCounterCountsRequestsAndBytes(t *testing.T) {
	body := strings.Repeat("x", 1000)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, body) //nolint:errcheck
	}))
	defer api.Close()
	c, err := startCounter(&rest.Config{Host: api.URL, BearerToken: "admin-token"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/pods?limit=500", "/api/v1/pods?limit=500&continue=abc", "/api", "/api/v1/nodes?resourceVersion=0"} {
		resp, err := http.Get(cfg.Host + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, got)
		}
	}
	tr := trafficOf(c.take())
	if tr.requests != 4 || tr.lists != 3 || tr.bytes != 4000 || tr.pages["/api/v1/pods"] != 2 {
		t.Errorf("counted %+v", tr)
	}
	if other := trafficOf(c.take()); other.requests != 0 {
		t.Errorf("take did not forget: %+v", other)
	}
	a := traffic{listKeys: []string{"/a?limit=500", "/b?continue=…&limit=500"}}
	if d := sameLists(a, a); d != "" {
		t.Errorf("same lists differ: %s", d)
	}
	if d := sameLists(a, traffic{listKeys: a.listKeys[:1]}); d == "" {
		t.Error("a missing page went unnoticed")
	}
}
