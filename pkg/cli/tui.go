package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/pkg/apply"
	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
	"github.com/kubectl-harden/kubectl-harden/pkg/report"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/termsafe"
	"github.com/kubectl-harden/kubectl-harden/pkg/tui"
)

// interactive decides whether to open the TUI: only for a person at a
// terminal who asked for no output format (-o text prints the report) and no
// unattended apply.
func (o *HardenOptions) interactive(workloads []*inspect.Workload) bool {
	return len(workloads) == 1 && o.Output == "" && !o.Yes && o.DryRun == "none" && onTerminal(o.IOStreams)
}

// onTerminal reports whether a person sits at the streams: stdin and
// stdout terminals, as kubectl edit decides, and stderr too, where the TUI
// draws.
func onTerminal(s genericiooptions.IOStreams) bool {
	return isTerminal(s.In) && isTerminal(s.Out) && isTerminal(s.ErrOut)
}

// engine is the TUI's view of the engine: the snapshot taken once, and the
// same plan and apply code as the non-interactive mode.
type engine struct {
	*session
	skip    []string
	commit  apply.Commit
	cluster *inspect.Cluster
	w       *inspect.Workload
	snap    *inspect.Snapshot
}

// openEngine reads the workload's snapshot and describes it for the
// TUI's header.
func (s *session) openEngine(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload, skip []string, c apply.Commit) (*engine, tui.Workload, error) {
	snap, err := s.reader.Snapshot(ctx, cluster, w)
	if err != nil {
		return nil, tui.Workload{}, err
	}
	stats := snap.Stats()
	desired := w.Replicas()
	if desired < 0 { // DaemonSets, Jobs: as many as there are
		desired = int32(stats.Total)
	}
	info := tui.Workload{Kind: w.Kind(), Name: w.Name(), Namespace: w.Namespace(), Context: s.context, Desired: desired,
		Stats: stats, Managed: inspect.ManagedBy(w.Object)}
	return &engine{session: s, skip: skip, commit: c, cluster: cluster, w: w, snap: snap}, info, nil
}

func (e *engine) Plan(sel rules.Selection) ([]rules.Result, *plan.Plan, error) {
	sel.Skip = e.skip
	results, err := rules.Evaluate(e.snap, sel)
	if err != nil {
		return nil, nil, err
	}
	p, err := plan.Build(e.snap, results, e.applier(false).FieldManager)
	return results, p, err
}

// applier is the session's, forcing conflicts when the user chose to in
// the TUI.
func (e *engine) applier(force bool) *apply.Applier {
	a := *e.session.applier
	a.Force = a.Force || force
	return &a
}

func (e *engine) DryRun(ctx context.Context, p *plan.Plan, force bool) (tui.DryRun, error) {
	a := e.applier(force)
	a.Warnings.Take()
	conflicts, err := a.DryRun(ctx, p)
	res := tui.DryRun{Warnings: a.Warnings.Take()}
	for _, c := range conflicts {
		res.Conflicts = append(res.Conflicts, c.Error())
	}
	if err != nil {
		return res, fmt.Errorf("%s", Explain(err))
	}
	return res, nil
}

func (e *engine) Commit(ctx context.Context, p *plan.Plan, force bool, progress func(string)) (*apply.Outcome, error) {
	c := e.commit
	c.Progress = progress
	return e.applier(force).Commit(ctx, p, e.w, c)
}

func (e *engine) Pods(ctx context.Context) (inspect.PodStats, error) {
	return e.reader.PodStats(ctx, e.cluster, e.w)
}

// Write saves the plan like -o kustomize=DIR, in the folder the user chose.
func (e *engine) Write(p *plan.Plan, dir string) (string, error) {
	if _, err := report.WriteKustomize(dir, []*plan.Plan{p}); err != nil {
		return "", err
	}
	return dir, nil
}

// runTUI opens the fix view of one workload and reports how it ended.
func (o *HardenOptions) runTUI(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload) error {
	eng, info, err := o.openEngine(ctx, cluster, w, o.selection.Skip, o.commit())
	if err != nil {
		return err
	}
	var preselect []string
	if len(o.Fix) > 0 {
		preselect = o.selection.Fix
	}
	m, err := tui.New(ctx, eng, info, preselect, o.selection.Params)
	if err != nil {
		return err
	}
	if err := tui.Run(ctx, m, tui.Terminal{In: o.In, Out: o.ErrOut, Color: useColor(o.Color, o.ErrOut)}); err != nil {
		return err
	}
	return o.afterTUI(m.Outcome(), w)
}

// afterTUI prints one line on the normal screen saying what happened.
func (o *HardenOptions) afterTUI(out tui.Outcome, w *inspect.Workload) error {
	ref := termsafe.String(w.Ref())
	switch {
	case out.Aborted:
		fmt.Fprintf(o.ErrOut, "%s: nothing was changed\n", ref)
		return ExitCodeError(ExitAborted)
	case out.Written != "":
		fmt.Fprintf(o.Out, "wrote %s (fixes %s): commit it where your GitOps tool syncs from, or kubectl apply -k %s\n",
			filepath.Join(out.Written, "kustomization.yaml"), strings.Join(out.Rules, ","), out.Written)
		return nil
	case out.Err != nil:
		return out.Err
	}
	msg := fmt.Sprintf("%s: applied %s", ref, strings.Join(out.Rules, ","))
	if out.Applied != nil && out.Applied.Rollout != "" {
		msg += "; rollout " + out.Applied.Rollout
	}
	fmt.Fprintf(o.Out, "%s (undo: kubectl harden undo %s -n %s)\n", msg, ref, termsafe.String(w.Namespace()))
	if out.Applied != nil {
		for _, wn := range out.Applied.Warnings {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", termsafe.String(wn))
		}
	}
	return nil
}
