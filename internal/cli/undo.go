package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// UndoOptions is `kubectl harden undo TYPE/NAME`: put back what the last
// run changed and delete the companions it created.
type UndoOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	FieldManager   string
	ForceConflicts bool
	Watch          bool
	Timeout        time.Duration
	*session
	// workloads are the targets, resolved by Complete.
	workloads []*inspect.Workload
}

// NewUndoCommand builds `kubectl harden undo`.
func NewUndoCommand(flags *genericclioptions.ConfigFlags, f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UndoOptions{ConfigFlags: flags, IOStreams: streams, FieldManager: plan.DefaultFieldManager, Watch: true, Timeout: 5 * time.Minute}
	cmd := &cobra.Command{
		Use:   "undo (TYPE/NAME | TYPE NAME)",
		Short: "Undo the last kubectl harden run on a workload",
		Long: `Restore every field the last kubectl harden run changed on a workload, as it
was, and delete the companions (PodDisruptionBudgets…) that run created.

The record is read from the workload's own harden.kubectl.dev/undo
annotation, so undo works from any machine; the local journal
($XDG_STATE_HOME/kubectl-harden) is used when the annotation is gone. Undo
also finishes what a run or its rollback left (a companion a rollback could
not delete, a run cut short): the workload is put back first, companions
are deleted only after it. If a field harden set was changed since, undo
stops unless --force-conflicts.`,
		Example:           "  kubectl harden undo deploy/web -n demo",
		ValidArgsFunction: workloadCompletion(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.fixFlags().AddFlags(cmd)
	return cmd
}

// fixFlags is the part of the fix-flags bundle undo offers: how to write
// and watch, over o's fields; nothing chooses rules.
func (o *UndoOptions) fixFlags() fixFlags {
	return fixFlags{FieldManager: &o.FieldManager, ForceConflicts: &o.ForceConflicts, Watch: &o.Watch, Timeout: &o.Timeout,
		Usage: map[string]string{
			"force-conflicts": "Undo even though fields harden set were changed since",
			"watch":           "Watch the rollout the undo causes",
			"timeout":         "How long to watch the rollout",
		}}
}

// Complete builds the clients and resolves the named workloads (an
// unknown kind or a missing object is its error); without a name it
// leaves the targets empty, for Validate to say so.
func (o *UndoOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	var err error
	if _, _, err = o.fixFlags().Complete(cmd); err != nil {
		return err
	}
	if o.session, err = newSession(f, o.ConfigFlags, inspect.Targets{Args: args}, o.FieldManager, o.ForceConflicts, 1); err != nil {
		return err
	}
	o.workloads, err = resolveNamed(o.session, args)
	return err
}

// Validate checks a workload is named and the flags' values.
func (o *UndoOptions) Validate() error {
	if o.session == nil || len(o.targets.Args) == 0 {
		return fmt.Errorf("name a workload, e.g. kubectl harden undo deploy/web")
	}
	return o.fixFlags().Validate(rules.Selection{})
}

// Run undoes the last run on each target, in the order named; the first
// that fails ends it.
func (o *UndoOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for _, w := range o.workloads {
		if err := o.undo(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// resolveNamed resolves the workloads args name, with the session's
// namespace; none without args.
func resolveNamed(s *session, args []string) ([]*inspect.Workload, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return inspect.Resolve(s.builder(), s.targets)
}

func (o *UndoOptions) undo(ctx context.Context, w *inspect.Workload) error {
	progress := func(m string) { fmt.Fprintln(o.ErrOut, termsafe.String(strings.TrimRight(m, "\n"))) }
	done, err := o.engine(o.Watch, o.Timeout).Undo(ctx, w, o.ForceConflicts, o.Watch, progress)
	if done != nil {
		for _, wn := range done.Warnings {
			fmt.Fprintf(o.ErrOut, "warning: %s\n", termsafe.String(wn))
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s in namespace %s: undid the run of %s (%s)\n", termsafe.String(w.Ref()), termsafe.String(w.Namespace()),
		done.Entry.Time.Format(time.RFC3339), strings.Join(done.Entry.Rules, ","))
	if len(done.Restored) > 0 {
		fmt.Fprintf(o.Out, "  restored: %s\n", termsafe.String(strings.Join(done.Restored, ", ")))
	}
	if len(done.Deleted) > 0 {
		fmt.Fprintf(o.Out, "  deleted:  %s\n", termsafe.String(strings.Join(done.Deleted, ", ")))
	}
	if len(done.Restored) == 0 && len(done.Deleted) == 0 {
		fmt.Fprintln(o.Out, "  nothing was left to put back or delete")
	}
	for _, k := range done.Kept {
		fmt.Fprintf(o.Out, "  kept:     %s\n", termsafe.String(k))
	}
	for _, k := range done.Whole {
		fmt.Fprintf(o.Out, "  whole:    %s\n", termsafe.String(k))
	}
	for _, k := range done.Left {
		fmt.Fprintf(o.Out, "  left:     %s\n", termsafe.String(k))
	}
	for _, n := range done.Notes {
		fmt.Fprintf(o.Out, "  note:     %s\n", termsafe.String(n))
	}
	return nil
}

// HistoryOptions is `kubectl harden history TYPE/NAME`.
type HistoryOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	*session
	// workloads are the targets, resolved by Complete.
	workloads []*inspect.Workload
}

// NewHistoryCommand builds `kubectl harden history`.
func NewHistoryCommand(flags *genericclioptions.ConfigFlags, f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HistoryOptions{ConfigFlags: flags, IOStreams: streams}
	return &cobra.Command{
		Use:               "history (TYPE/NAME | TYPE NAME)",
		Short:             "List the kubectl harden runs recorded for a workload",
		Example:           "  kubectl harden history deploy/web -n demo",
		ValidArgsFunction: workloadCompletion(f),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := o.Complete(f, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
}

// Complete builds the clients and resolves the named workloads; without
// a name it leaves the targets empty, for Validate to say so.
func (o *HistoryOptions) Complete(f cmdutil.Factory, args []string) error {
	var err error
	if o.session, err = newSession(f, o.ConfigFlags, inspect.Targets{Args: args}, plan.DefaultFieldManager, false, 1); err != nil {
		return err
	}
	o.workloads, err = resolveNamed(o.session, args)
	return err
}

// Validate checks a workload is named.
func (o *HistoryOptions) Validate() error {
	if o.session == nil || len(o.targets.Args) == 0 {
		return fmt.Errorf("name a workload, e.g. kubectl harden history deploy/web")
	}
	return nil
}

// Run prints each target's recorded runs, oldest first.
func (o *HistoryOptions) Run() error {
	for _, w := range o.workloads {
		entries, err := o.journal.List(o.cluster, w.Namespace(), w.Kind(), w.Name())
		if err != nil {
			return err
		}
		onObject, err := apply.FromAnnotation(w.Object)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s in namespace %s\n", termsafe.String(w.Ref()), termsafe.String(w.Namespace()))
		tw := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TIME\tACTION\tRULES\tOBJECTS")
		// RULES gets what the line leaves beside the time (RFC 3339, 20
		// columns), the action (at most "rollback"), the first object
		// and the padding; a longer list ends in " + N more...".
		for _, e := range entries {
			var objs []string
			for _, c := range e.Objects {
				objs = append(objs, c.Object().Ref())
			}
			first := ""
			if len(objs) > 0 {
				first = objs[0]
			}
			ruleW := cellWidth(o.Out, 2+20+2+len("rollback")+2+2+len(first))
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Action, fitList(e.Rules, ruleW), termsafe.String(strings.Join(objs, ", ")))
		}
		_ = tw.Flush()
		switch {
		case onObject != nil:
			fmt.Fprintf(o.Out, "  undo record on the object: the run of %s (%s)\n", onObject.Time.Format(time.RFC3339), fitList(onObject.Rules, cellWidth(o.Out, len("  undo record on the object: the run of 2006-01-02T15:04:05Z ()"))))
		case len(entries) == 0:
			fmt.Fprintln(o.Out, "  no kubectl harden run recorded")
		}
	}
	return nil
}
