package engine

import (
	"context"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/tui"
)

// Session is one workload opened in the terminal UI: the snapshot is read
// once, and every plan, dry-run and commit goes through the engine's road.
// It implements tui.Engine.
type Session struct {
	eng     *Engine
	skip    []string
	cluster *inspect.Cluster
	w       *inspect.Workload
	snap    *inspect.Snapshot
}

// Open reads the workload (again, with its managedFields) and its snapshot
// for the terminal UI, and describes it for the UI's header. skip is
// --skip; context names the kubeconfig context shown.
func (e *Engine) Open(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload, skip []string) (*Session, tui.Workload, error) {
	w, err := e.Read(ctx, w)
	if err != nil {
		return nil, tui.Workload{}, err
	}
	snap, err := e.Reader.Snapshot(ctx, cluster, w)
	if err != nil {
		return nil, tui.Workload{}, err
	}
	stats := snap.Stats()
	desired := w.Replicas()
	if desired < 0 { // DaemonSets, Jobs: as many as there are
		desired = int32(stats.Total)
	}
	info := tui.Workload{Kind: w.Kind(), Name: w.Name(), Namespace: w.Namespace(), Context: cluster.Context, Desired: desired,
		Stats: stats, Managed: inspect.ManagedBy(w.Object), Unread: snap.AllUnread()}
	return &Session{eng: e, skip: skip, cluster: cluster, w: w, snap: snap}, info, nil
}

// Plan plans the selection on the snapshot the session opened with, holding
// back the fixes another manager owns unless sel forces them.
func (s *Session) Plan(sel rules.Selection) ([]rules.Result, *plan.Plan, error) {
	sel.Skip = s.skip
	return s.eng.Plan(s.snap, sel)
}

// applier is the engine's, forcing every conflict when force is set (the
// confirm screen's f, like --force-conflicts).
func (s *Session) applier(force bool) *apply.Applier {
	a := *s.eng.Applier
	a.Force = a.Force || force
	return &a
}

// DryRun sends the plan as a server-side dry-run.
func (s *Session) DryRun(ctx context.Context, p *plan.Plan, force bool) (tui.DryRun, error) {
	a := s.applier(force)
	a.Warnings.Take()
	conflicts, err := a.DryRun(ctx, p)
	res := tui.DryRun{Warnings: a.Warnings.Take()}
	for _, c := range conflicts {
		res.Conflicts = append(res.Conflicts, c.Error())
	}
	return res, err
}

// Commit applies the plan, watches the rollout and rolls back on failure.
func (s *Session) Commit(ctx context.Context, p *plan.Plan, force bool, progress func(string)) (*apply.Outcome, error) {
	if err := s.eng.CheckAccess(ctx, p); err != nil {
		return &apply.Outcome{}, err
	}
	c := s.eng.Commit
	c.Progress = progress
	return s.applier(force).Commit(ctx, p, s.w, c)
}

// Pods reads the workload's pods again, for live progress.
func (s *Session) Pods(ctx context.Context) (inspect.PodStats, error) {
	return s.eng.Reader.PodStats(ctx, s.cluster, s.w)
}

// Write saves the plan like -o kustomize=DIR, in dir.
func (s *Session) Write(p *plan.Plan, dir string) (string, error) {
	if _, err := report.WriteKustomize(dir, []*plan.Plan{p}); err != nil {
		return "", err
	}
	return dir, nil
}
