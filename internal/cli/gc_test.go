package cli

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// keep holds the test's live heap.
var keep [][]byte

// The audit's memory limit is auditMemoryLimit per cluster while the live
// heap is small, follows a live heap that outgrows it (no collector
// running without pause), and is restored when the audit ends; a GOGC or
// GOMEMLIMIT set by the user is left alone.
func TestTuneGC(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	before := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(before)

	restore := tuneGC(2)
	if got := debug.SetMemoryLimit(-1); got != 2*auditMemoryLimit {
		t.Errorf("memory limit %d during a 2-cluster audit, want %d", got, 2*auditMemoryLimit)
	}
	// A live heap of twice the limit: after a collection or two the limit
	// is half again as much.
	for range 2 * 2 * auditMemoryLimit / (1 << 20) {
		keep = append(keep, make([]byte, 1<<20))
	}
	want := int64(len(keep)) << 20 * 3 / 2
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) < want && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < want {
		t.Errorf("memory limit %d with %d MiB live, want at least %d", got, len(keep), want)
	}
	keep = nil
	restore()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d after the audit, want none", got)
	}

	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Setenv(env, "200")
		tuneGC(1)()
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("memory limit %d with %s set, want it untouched", got, env)
		}
		os.Unsetenv(env)
	}
}
