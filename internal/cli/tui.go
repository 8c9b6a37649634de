package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
	"github.com/kubectl-harden/kubectl-harden/internal/tui"
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

// runTUI opens the fix view of one workload and reports how it ended.
func (o *HardenOptions) runTUI(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload) error {
	e := o.engine(o.Watch, o.Timeout)
	e.Policy = o.selection.Policy
	eng, info, err := e.Open(ctx, cluster, w, o.selection.Skip)
	if err != nil {
		return err
	}
	info.Policy = policyName(o.policy)
	var preselect []string
	if len(o.Fix) > 0 {
		preselect = o.selection.Fix
	}
	m, err := tui.New(ctx, eng, info, preselect, o.selection.Params)
	if err != nil {
		return err
	}
	in := interruptsOf(ctx)
	done := in.writing(w)
	defer done()
	var kill <-chan struct{}
	if in != nil {
		var ended func()
		kill, ended = in.killOnSecond()
		defer ended()
	}
	if err := tui.Run(ctx, m, tui.Terminal{In: o.In, Out: o.ErrOut, Color: useColor(o.Color, o.ErrOut), Kill: kill}); err != nil {
		return err
	}
	return o.afterTUI(m.Outcome(), w, in.wrote())
}

// afterTUI prints one line on the normal screen saying what happened, and
// ends with the command line's exit code for the same state: 1 while
// findings are left (out.Pending: not fixed, needing a human, held back as
// conflict, not chosen — also after q or w, which change nothing), 0 when
// none is. ctrl+c before any apply aborts with 130; ctrl+c during the
// rollout, SIGINT or SIGTERM end it with 130 and one line saying what the
// objects are left as.
func (o *HardenOptions) afterTUI(out tui.Outcome, w *inspect.Workload, wrote bool) error {
	ref := termsafe.String(w.Ref())
	switch {
	case out.Interrupted:
		return &InterruptedError{State: interruptedState(workloadRef(w), out.Plan, out.Err == nil && out.Applied != nil, wrote, out.Err)}
	case out.Aborted:
		fmt.Fprintf(o.ErrOut, "%s: aborted, nothing was changed\n", ref)
		return ExitCodeError(ExitAborted)
	case out.Quit:
		fmt.Fprintf(o.ErrOut, "%s: nothing was changed\n", ref)
		return o.left(out.Pending, w, "not fixed")
	case out.Written != "":
		fmt.Fprintf(o.Out, "wrote %s (fixes %s): commit it where your GitOps tool syncs from, or kubectl apply -k %s\n",
			filepath.Join(out.Written, "kustomization.yaml"), strings.Join(out.Rules, ","), out.Written)
		// As -o kustomize=DIR: the findings stay until the overlay is applied.
		return o.left(out.Pending, w, "until the overlay is applied")
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
	return o.left(out.Pending, w, "not chosen, held back as conflict or needing a human")
}

// left says how many findings the workload is left with and why, and
// gives the exit code 1 when there are any, as the command line does.
func (o *HardenOptions) left(pending int, w *inspect.Workload, why string) error {
	if pending == 0 {
		return nil
	}
	fmt.Fprintf(o.Out, "%s left (%s): kubectl harden %s -n %s -o text says which\n",
		report.Count(pending, "finding", "findings"), why, termsafe.String(w.Ref()), termsafe.String(w.Namespace()))
	return ExitCodeError(ExitFindings)
}
