package inspect

import (
	"context"
	"sync"
)

// sharedReads keeps, for one command that writes nothing (a preview of
// audit --fix), what Reader.Snapshot reads of each namespace as a whole
// — its PDBs, Services, HPAs, NetworkPolicies, LimitRanges, RoleBindings,
// Leases, claims, routes and neighbourhood — so that each namespace is
// read once, not once per workload: a preview of 50 workloads of one
// namespace sends 50 times fewer of those requests, each of which the
// client's rate limit (50 per second) would otherwise hold up. A command
// that writes must not share them: its own writes change what the next
// workload's snapshot must see.
//
// A failed read is not kept (the next snapshot reads again). Safe for
// concurrent use: snapshots of one namespace asked at once wait for one
// read. Kept for the command's life; a namespace's reads are small next to
// its workloads'.
type sharedReads struct {
	mu    sync.Mutex
	reads map[string]*sharedRead
}

// sharedRead is one namespace's reads, read or being read: done is closed
// once s and err are set.
type sharedRead struct {
	done chan struct{}
	s    *Snapshot
	err  error
}

// Sharing returns a Reader over the same clients whose Snapshots share
// each namespace's reads (see sharedReads), for a command that writes
// nothing.
func (r *Reader) Sharing() *Reader {
	out := &Reader{Client: r.Client, Metrics: r.Metrics, shared: &sharedReads{reads: map[string]*sharedRead{}}}
	out.setRoutes(r.servedRoutes())
	return out
}

// get returns the namespace's kept reads, or reads them once with read
// while every other caller for the namespace waits. A failed read is
// forgotten and returned to its caller; a caller that waited for it reads
// again itself (the failure may be the first caller's context ending).
func (c *sharedReads) get(ctx context.Context, ns string, read func(context.Context) (*Snapshot, error)) (*Snapshot, error) {
	for {
		c.mu.Lock()
		r, asked := c.reads[ns]
		if !asked {
			r = &sharedRead{done: make(chan struct{})}
			c.reads[ns] = r
		}
		c.mu.Unlock()
		if !asked {
			r.s, r.err = read(ctx)
			if r.err != nil {
				c.mu.Lock()
				delete(c.reads, ns)
				c.mu.Unlock()
			}
			close(r.done)
			return r.s, r.err
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if r.err == nil {
			return r.s, nil
		}
	}
}
