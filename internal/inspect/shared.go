package inspect

import (
	"github.com/kubectl-harden/kubectl-harden/internal/memo"
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
// A failed read is not kept (the next snapshot reads again); snapshots of
// one namespace asked at once wait for one read (memo.Memo). Kept for the
// command's life; a namespace's reads are small next to its workloads'.
type sharedReads = memo.Memo[string, *Snapshot]

// Sharing returns a Reader over the same clients whose Snapshots share
// each namespace's reads (see sharedReads), for a command that writes
// nothing.
func (r *Reader) Sharing() *Reader {
	out := &Reader{Client: r.Client, Metrics: r.Metrics, shared: memo.New[string, *Snapshot]()}
	out.setRoutes(r.servedRoutes())
	return out
}
