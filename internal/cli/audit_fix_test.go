package cli

import (
	"errors"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
)

// What a parallel run a signal stopped may have written is read from its
// own undo entry, not from the command's one write counter, which every
// run shares.
func TestWroteAny(t *testing.T) {
	entry := func(states ...string) *engine.Result {
		e := &apply.Entry{}
		for _, s := range states {
			e.Objects = append(e.Objects, apply.Change{State: s})
		}
		return &engine.Result{Entry: e}
	}
	for _, tc := range []struct {
		name string
		res  *engine.Result
		err  error
		want bool
	}{
		{"no commit began", &engine.Result{}, errors.New("interrupted"), false},
		{"stopped before the first write", entry(apply.StatePending, apply.StatePending), errors.New("interrupted before anything was written"), false},
		{"a write made", entry(apply.StateWritten, apply.StatePending), nil, true},
		{"rolled back", entry(apply.StateRestored, apply.StateDeleted), nil, true},
		{"a write without an answer", entry(apply.StatePending), &apply.TxError{Err: errors.New("EOF")}, true},
	} {
		if got := wroteAny(tc.res, tc.err); got != tc.want {
			t.Errorf("%s: wroteAny = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// --parallel: 1 and more are taken, 0 is the default, below is refused.
func TestAuditValidateParallel(t *testing.T) {
	for _, tc := range []struct {
		parallel int
		ok       bool
		want     int
	}{{1, true, 1}, {16, true, 16}, {0, true, engine.DefaultParallel}, {-1, false, 0}} {
		o := &AuditOptions{Kinds: []string{"Deployment"}, ChunkSize: 500, MinScore: -1, DryRun: "none",
			FieldManager: "kubectl-harden", Timeout: time.Minute, Color: "auto", Fix: []string{"pdb"}, Parallel: tc.parallel}
		var err error
		if o.selection, err = parseSelection(o.Fix, nil, nil); err == nil {
			err = o.Validate()
		}
		if (err == nil) != tc.ok {
			t.Errorf("--parallel %d: error %v", tc.parallel, err)
			continue
		}
		if got := (&fixRun{o: o}).parallelism(); tc.ok && got != tc.want {
			t.Errorf("--parallel %d: %d at once, want %d", tc.parallel, got, tc.want)
		}
	}
}
