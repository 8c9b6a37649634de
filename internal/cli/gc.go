package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// auditMemoryLimit is the audit's soft memory limit in bytes per cluster
// read at once (Go's runtime memory: heap, stacks, metadata; not the
// binary's own pages, about 37 MiB more in RSS). Measured at 2,000 and
// 20,000 workloads (README, Benchmark): the lowest CPU for a peak RSS
// under 100 MiB; at 40 MiB the collector ran nearly non-stop.
const auditMemoryLimit = 48 << 20

// tuneGC sets the garbage collector for an audit of clusters read at once
// and returns what restores the runtime's settings; a GOGC or GOMEMLIMIT
// set in the environment is left alone.
//
// An audit allocates a cluster's worth of objects, page after page, while
// what is live stays small (the pages being read, the namespace being
// evaluated, the report when it is spilled): with Go's default alone
// (GOGC=100) the heap grows to twice what is live before a collection;
// with GOGC=25 it collects four times as often and spent a third of its
// CPU doing it. Under a soft memory limit (auditMemoryLimit each) the heap
// may grow to it and no further, and collections are rare while it is not
// reached.
//
// But an audit that holds its whole report (table, html, --fix, a fleet)
// may outgrow any fixed limit, and under it the collector would run
// without pause (an audit --fix preview of 2,000 workloads spent 83% of
// its CPU collecting). So the limit follows the live heap (followLiveHeap):
// after each collection it is raised to half again what is live, when that
// is more.
func tuneGC(clusters int) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	floor := int64(clusters) * auditMemoryLimit
	saved := debug.SetMemoryLimit(floor)
	stop := &atomic.Bool{}
	followLiveHeap(floor, stop)
	return func() {
		stop.Store(true)
		debug.SetMemoryLimit(saved)
	}
}

// followLiveHeap sets the soft memory limit, after each garbage
// collection until stop is set, to the larger of floor and 1.5 times the
// live heap (runtime/metrics /gc/heap/live:bytes): the collector then
// runs at most as often as with GOGC=50. It hooks the next collection
// with a cleanup on an object nothing references, which runs once that
// collection has found it unreachable, and hooks the one after from there.
func followLiveHeap(floor int64, stop *atomic.Bool) {
	// Not a tiny allocation (under 16 bytes, pointer-free), whose
	// cleanup may never run.
	sentinel := &gcSentinel{}
	runtime.AddCleanup(sentinel, func(struct{}) {
		if stop.Load() {
			return
		}
		debug.SetMemoryLimit(max(floor, liveHeap()*3/2))
		followLiveHeap(floor, stop)
	}, struct{}{})
}

type gcSentinel struct {
	_ *int
	_ [32]byte
}

// liveHeap is the heap the last collection found live, in bytes.
func liveHeap() int64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}
