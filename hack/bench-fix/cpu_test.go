package main

import (
	"testing"
	"time"
)

// utime and stime are read after the command name, which may hold spaces
// and parentheses.
func TestCPUOf(t *testing.T) {
	line := "13334 (kube (api) server) S 1 13334 1 0 -1 4194560 12 0 0 0 44838 4986 0 0 20 0 11 0 100 0 0"
	got, ok := cpuOf(line)
	if want := 498240 * time.Millisecond; !ok || got != want {
		t.Errorf("got %v, %v; want %v", got, ok, want)
	}
	if _, ok := cpuOf("13334 (short) S 1 2"); ok {
		t.Error("a short line read")
	}
}
