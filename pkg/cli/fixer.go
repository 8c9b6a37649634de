package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubectl-harden/kubectl-harden/pkg/apply"
	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

// fixer is the one safe path from a live workload to its fixes on the
// cluster, taken by `kubectl harden TYPE/NAME --fix` and by `kubectl harden
// audit --fix`: read its snapshot, evaluate the rules, build the plan,
// server-side dry-run it (when applying, a conflict stops this workload
// and nothing is written), then commit (undo record, transaction, journal,
// rollout watch, automatic rollback). A workload edited between the read
// and the write is planned again from its new state, never overwritten.
type fixer struct {
	*session
	selection    rules.Selection
	fieldManager string
	dryRun       string // none, server or client
	yes          bool
	commit       apply.Commit
	// warn receives what the user should know that did not stop the fix;
	// replanned is told when a workload is planned again.
	warn      func(string)
	replanned func(w *inspect.Workload)
}

// fixed is what the fixer did to one workload.
type fixed struct {
	w *inspect.Workload
	// snap is the live state to show: after the fixes when they were applied.
	snap    *inspect.Snapshot
	results []rules.Result
	plan    *plan.Plan
	// warnings are the dry-run's conflicts (when not applying) and the API
	// server's warnings.
	warnings []string
	applied  bool
	rollout  string
}

// maxReplans bounds how often a workload that keeps changing is planned
// again before giving up.
const maxReplans = 3

// fix runs one workload through the path. The result is never nil: on an
// error it holds what was known when it stopped.
func (f *fixer) fix(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload) (*fixed, error) {
	out, err := f.once(ctx, cluster, w)
	for attempt := 1; errors.Is(err, apply.ErrChanged) && attempt < maxReplans; attempt++ {
		if f.replanned != nil {
			f.replanned(w)
		}
		live, gerr := f.applier.Get(ctx, &plan.Object{APIVersion: w.Object.GetAPIVersion(), Kind: w.Kind(), Namespace: w.Namespace(), Name: w.Name()})
		if gerr != nil {
			return out, gerr
		}
		if w, err = inspect.NewWorkload(live); err != nil {
			return out, err
		}
		out, err = f.once(ctx, cluster, w)
	}
	return out, err
}

func (f *fixer) once(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload) (*fixed, error) {
	out := &fixed{w: w}
	snap, err := f.reader.Snapshot(ctx, cluster, w)
	if err != nil {
		return out, err
	}
	out.snap = snap
	if out.results, err = rules.Evaluate(snap, f.selection); err != nil {
		return out, err
	}
	if out.plan, err = plan.Build(snap, out.results, f.fieldManager); err != nil {
		return out, err
	}
	p := out.plan
	applying := !p.Empty() && f.yes && f.dryRun == "none"
	if !p.Empty() && f.dryRun != "client" {
		conflicts, err := f.applier.DryRun(ctx, p)
		if err != nil {
			return out, err
		}
		if applying && len(conflicts) > 0 {
			return out, fmt.Errorf("%w; nothing was changed", conflicts[0])
		}
		for _, c := range conflicts {
			out.warnings = append(out.warnings, c.Error())
		}
		out.warnings = append(out.warnings, f.applier.Warnings.Take()...)
	}
	if !applying {
		return out, nil
	}
	res, err := f.applier.Commit(ctx, p, w, f.commit)
	for _, msg := range res.Warnings {
		if f.warn != nil {
			f.warn(msg)
		}
	}
	if err != nil {
		return out, err
	}
	out.applied, out.rollout = true, res.Rollout
	for i := range out.results {
		if out.results[i].Status == rules.StatusPlanned {
			out.results[i].Status = rules.StatusFixed
		}
	}
	// Show the live state the fixes produced, not the one they fixed.
	live, err := f.applier.Get(ctx, &plan.Object{APIVersion: w.Object.GetAPIVersion(), Kind: w.Kind(), Namespace: w.Namespace(), Name: w.Name()})
	if err != nil {
		return out, err
	}
	if w, err = inspect.NewWorkload(live); err != nil {
		return out, err
	}
	out.snap, err = f.reader.Snapshot(ctx, cluster, w)
	return out, err
}
