package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// HardenOptions is `kubectl harden TYPE/NAME`.
type HardenOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Filenames     []string
	Recursive     bool
	Selector      string
	AllNamespaces bool

	Fix            []string
	Skip           []string
	Set            []string
	Yes            bool
	DryRun         string
	Output         string
	FieldManager   string
	ForceConflicts bool
	Watch          bool
	Timeout        time.Duration
	Color          string

	*session
	selection rules.Selection
	policy    *policy.Policy
	styles    report.Styles
	// refused is told once per run when a preview's dry-run was refused.
	refused refusedOnce
}

// NewHardenOptions returns options with kubectl's defaults.
func NewHardenOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *HardenOptions {
	return &HardenOptions{ConfigFlags: flags, IOStreams: streams, DryRun: "none", FieldManager: plan.DefaultFieldManager,
		Watch: true, Timeout: 5 * time.Minute, Color: "auto"}
}

// AddFlags registers the flags.
func (o *HardenOptions) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringSliceVarP(&o.Filenames, "filename", "f", nil, "Files (or directories) naming the workloads to harden; the live objects are read")
	fs.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively")
	fs.StringVarP(&o.Selector, "selector", "l", "", "Selector (label query) to filter on, e.g. -l app=web")
	fs.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Look for the named workloads in every namespace")
	o.fixFlags().AddFlags(cmd)
	fs.StringVarP(&o.Output, "output", "o", "", "Output format: text, json, yaml, diff, patch (a JSON array: RFC 6902 ops per changed object for kubectl patch --type=json, manifests of the objects to create), or kustomize=DIR (an overlay that kubectl kustomize builds). Without -o, a terminal gets the interactive UI and anything else the text report")
	fs.StringVar(&o.Color, "color", o.Color, "Colour the output: auto, always or never (NO_COLOR is honoured)")
	_ = cmd.RegisterFlagCompletionFunc("output", outputCompletion)
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
}

// fixFlags is the fix-flags bundle over o's fields, with the main
// command's help texts.
func (o *HardenOptions) fixFlags() fixFlags {
	return fixFlags{Fix: &o.Fix, Skip: &o.Skip, Set: &o.Set, Yes: &o.Yes, DryRun: &o.DryRun, FieldManager: &o.FieldManager,
		ForceConflicts: &o.ForceConflicts, Watch: &o.Watch, Timeout: &o.Timeout}
}

// Complete builds clients, targets and the rule selection.
func (o *HardenOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	var err error
	if o.selection, o.policy, err = o.fixFlags().Complete(cmd); err != nil {
		return err
	}
	// Fixes written for the source take every field; applied live (-o
	// patch --yes), they face their owners like any other run.
	if o.ForceConflicts || forSource(o.Output) && runMode(o.DryRun, o.Yes) != engine.Apply {
		o.selection.Force = []string{"all"}
	}
	o.styles = report.NewStyles(useColor(o.Color, o.Out))
	o.session, err = newSession(f, o.ConfigFlags, inspect.Targets{
		Args: args, Filenames: o.Filenames, Recursive: o.Recursive, Selector: o.Selector, AllNamespaces: o.AllNamespaces,
	}, o.FieldManager, false, 1)
	return err
}

// Validate checks the flags make sense together.
func (o *HardenOptions) Validate() error {
	if len(o.targets.Args) == 0 && len(o.targets.Filenames) == 0 {
		return fmt.Errorf("name a workload, e.g. kubectl harden deploy/web (see kubectl harden --help)")
	}
	printer, dir, ok := report.HardenPrinterFor(o.Output)
	switch {
	case !ok:
		return fmt.Errorf("--output must be %s, got %q", orList(report.HardenFormats()), o.Output)
	case printer.Arg != "" && dir == "":
		return fmt.Errorf("-o kustomize=DIR needs a directory")
	case printer.Arg != "" && o.Yes:
		return fmt.Errorf("-o kustomize=DIR writes the fixes for your repository and applies nothing: drop --yes")
	}
	if err := validateColor(o.Color); err != nil {
		return err
	}
	return o.fixFlags().Validate(o.selection)
}

// Run inspects each target, plans the chosen fixes, and prints or applies
// them. It ends with ExitCodeError(1) when findings remain, and with an
// error (exit 2) when a workload failed; the others still run.
func (o *HardenOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	workloads, notLive, err := o.resolve()
	if err != nil {
		return err
	}
	total := len(workloads) + len(notLive)
	if total == 1 && len(notLive) == 1 { // a single target: its one-line error
		return notLive[0].Err
	}
	cluster, err := o.reader.Cluster(ctx)
	if err != nil {
		return err
	}
	cluster.Context = o.context
	if len(notLive) == 0 && o.interactive(workloads) {
		return o.runTUI(ctx, cluster, workloads[0])
	}
	r := &hardenRun{doc: report.Report{APIVersion: report.APIVersion, Kind: report.Kind, Policy: policyRef(o.policy)}, notLive: notLive, total: total}
	// Several workloads are run one by one; one that fails (its rollout
	// rolled back, a write refused) does not stop the others, and each
	// outcome is told at the end.
	for i, w := range workloads {
		r.failNotLive(i)
		wl, err := o.harden(ctx, cluster, w, i)
		if err != nil && total == 1 {
			return err
		}
		r.add(w, wl, err)
		if err != nil && ctx.Err() != nil { // interrupted: the rest is not started
			r.notStarted(workloads[i+1:])
			o.printOutcomes(r.outcomes)
			return err
		}
	}
	r.failNotLive(len(workloads))
	return o.finish(r)
}

// resolve finds the targets' live workloads; a workload of the files that
// is not live is returned apart, to be one failed outcome while the
// others still run.
func (o *HardenOptions) resolve() ([]*inspect.Workload, []inspect.NotLive, error) {
	targets := o.targets
	targets.Note = func(msg string) { fmt.Fprintln(o.ErrOut, termsafe.String(msg)) }
	var notLive []inspect.NotLive
	targets.NotLive = func(n inspect.NotLive) { notLive = append(notLive, n) }
	workloads, err := inspect.Resolve(o.builder(), targets)
	return workloads, notLive, err
}

// hardenRun is what a run over several workloads gathers as they are
// done: the report of those hardened, their plans, one outcome line per
// target in order, and the targets that failed.
type hardenRun struct {
	doc      report.Report
	plans    []*plan.Plan
	pending  bool
	outcomes []string
	failed   []string
	notLive  []inspect.NotLive // not yet told, in target order
	total    int
}

// failNotLive tells the targets that are not live and come before
// workload i, as failed.
func (r *hardenRun) failNotLive(i int) {
	for len(r.notLive) > 0 && r.notLive[0].Index <= i {
		n := r.notLive[0]
		r.notLive = r.notLive[1:]
		ref := n.Ref + " -n " + n.Namespace
		r.outcomes = append(r.outcomes, fmt.Sprintf("%-12s %s: %s", outcomeFailed, termsafe.String(ref), termsafe.String(Explain(n.Err))))
		r.failed = append(r.failed, ref)
	}
}

// add records workload w's outcome: a failure (err), or its report and
// plan.
func (r *hardenRun) add(w *inspect.Workload, wl hardened, err error) {
	ref := w.Ref() + " -n " + w.Namespace()
	got, line := outcomeOf(wl.res, err)
	r.outcomes = append(r.outcomes, fmt.Sprintf("%-12s %s: %s", got, termsafe.String(ref), termsafe.String(line)))
	if err != nil {
		r.failed = append(r.failed, ref)
		return
	}
	r.doc.Workloads = append(r.doc.Workloads, wl.Workload)
	r.plans = append(r.plans, wl.plan)
	r.pending = r.pending || rules.Pending(wl.Findings)
}

// notStarted tells the workloads an interrupted run never reached.
func (r *hardenRun) notStarted(rest []*inspect.Workload) {
	for _, w := range rest {
		r.outcomes = append(r.outcomes, fmt.Sprintf("%-12s %s", outcomeNotStarted, termsafe.String(w.Ref()+" -n "+w.Namespace())))
	}
}

// finish prints what is printed once for the run (-o json, yaml, patch,
// kustomize=DIR; the outcomes of several workloads; the --set nothing
// used; "nothing to change") and returns its exit: an error naming the
// failed workloads, else ExitCodeError(1) when findings remain.
func (o *HardenOptions) finish(r *hardenRun) error {
	if printer, arg, _ := report.HardenPrinterFor(o.Output); printer.Run != nil {
		if err := printer.Run(o.Out, r.doc, r.plans, arg); err != nil {
			return err
		}
	}
	if r.total > 1 {
		o.printOutcomes(r.outcomes)
	}
	var used []fixedOn
	var all []rules.Result
	for _, wl := range r.doc.Workloads {
		ref := strings.ToLower(wl.Kind) + "/" + wl.Name
		if len(r.doc.Workloads) > 1 {
			ref += " -n " + wl.Namespace
		}
		used = append(used, fixedOn{Ref: ref, Results: wl.Findings})
		all = append(all, wl.Findings...)
	}
	printUnusedSets(o.ErrOut, o.Set, used)
	if o.saysNothing(r.plans) {
		fmt.Fprintln(o.ErrOut, nothingToChange(o.selection, all))
	}
	if len(r.failed) > 0 {
		return fmt.Errorf("%d of %d workloads failed: %s (each outcome above)", len(r.failed), r.total, strings.Join(r.failed, ", "))
	}
	if r.pending {
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// saysNothing reports whether the run planned nothing where the user
// expects a change: -o diff and -o patch (which would print nothing at
// all) and any --fix. Without --fix, the text report and its hint say
// it already.
func (o *HardenOptions) saysNothing(plans []*plan.Plan) bool {
	if len(plans) == 0 || len(o.Fix) == 0 && o.Output != "diff" && o.Output != "patch" {
		return false
	}
	return !slices.ContainsFunc(plans, func(p *plan.Plan) bool { return !p.Empty() })
}

// printOutcomes tells what the run did to each workload: after the text
// report on stdout, on stderr when stdout is for machines (json, yaml,
// diff, patch).
func (o *HardenOptions) printOutcomes(lines []string) {
	out := o.ErrOut
	if o.Output == "" || o.Output == "text" {
		out = o.Out
		fmt.Fprintln(out)
	}
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}

// outcomeNotStarted is a workload an interrupted run never reached.
const outcomeNotStarted outcome = "not started"

// outcomeOf is one workload's outcome and its one-line reason, as audit
// --fix tells it.
func outcomeOf(res *engine.Result, err error) (outcome, string) {
	var rolledBack *apply.RolledBackError
	switch {
	case errors.As(err, &rolledBack):
		return outcomeRolledBack, Explain(err)
	case err != nil:
		return outcomeFailed, Explain(err)
	case res == nil || res.Plan == nil:
		return outcomeUnchanged, "nothing to change"
	case res.Plan.Empty() && len(res.Held()) > 0:
		return outcomeHeld, "nothing applied: every fix conflicts with another field manager"
	case res.Plan.Empty():
		return outcomeUnchanged, "nothing to change"
	case res.Applied:
		line := findingsOf(res.Results, rules.StatusFixed)
		if res.Rollout != "" {
			line += ", rollout " + res.Rollout
		}
		return outcomeFixed, line
	}
	return outcomePlanned, fmt.Sprintf("%s in %s", findingsOf(res.Results, rules.StatusPlanned), report.Count(len(res.Plan.Objects), "object", "objects"))
}

// hardened is one workload's outcome, with its plan and the engine's
// result.
type hardened struct {
	report.Workload
	plan *plan.Plan
	res  *engine.Result
}

// harden runs one workload through the engine's road and prints it.
func (o *HardenOptions) harden(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload, index int) (hardened, error) {
	in := interruptsOf(ctx)
	done := in.writing(w)
	res, err := o.engine(o.Watch, o.Timeout).Fix(ctx, cluster, w, o.request())
	wrote := in.wrote()
	done()
	if res != nil {
		o.refused.tell(o.ErrOut, res.DryRunRefused)
	}
	wl := report.Workload{Kind: w.Kind(), Namespace: w.Namespace(), Name: w.Name()}
	if in.interrupted() {
		// A signal stopped the run: what was written was rolled back
		// (or the rollout had completed); say which, and nothing else.
		return hardened{wl, res.Plan, res}, &InterruptedError{State: interruptedState(workloadRef(w), res.Plan, res.Applied, wrote, err)}
	}
	if err != nil {
		return hardened{wl, res.Plan, res}, err
	}
	wl.Warnings = append(wl.Warnings, res.Warnings...)
	if res.Snapshot != nil {
		wl.Unread = res.Snapshot.AllUnread()
	}
	wl.Applied, wl.Rollout = res.Applied, res.Rollout
	wl.Findings, wl.Score = res.Results, rules.Score(res.Results)
	if wl.Plan, err = report.NewPlan(res.Plan); err != nil {
		return hardened{wl, res.Plan, res}, err
	}
	if !wl.Applied && res.Workload != nil {
		wl.Rollout = heldRollout(res.Workload)
	}
	return hardened{wl, res.Plan, res}, o.print(res.Snapshot, wl, res.Plan, index)
}

// heldRollout says, before anything is applied, that a change to w would
// not roll out by itself; "" when it would.
func heldRollout(w *inspect.Workload) string {
	switch w.RolloutHold() {
	case inspect.RolloutPaused:
		return fmt.Sprintf("paused — a change rolls out on resume (kubectl rollout resume %s -n %s)", w.Ref(), w.Namespace())
	case inspect.RolloutOnDelete:
		return "OnDelete — a pod takes a change only when it is deleted"
	}
	return ""
}

// request is this run's engine request: what the flags ask for.
func (o *HardenOptions) request() engine.Request {
	return engine.Request{Selection: o.selection, Mode: runMode(o.DryRun, o.Yes),
		OfflineIfRefused: offlineIfRefused(o.DryRun, o.Yes),
		Progress:         o.progress,
		Warn:             func(msg string) { fmt.Fprintf(o.ErrOut, "warning: %s\n", termsafe.String(msg)) },
		Replanned: func(w *inspect.Workload) {
			fmt.Fprintf(o.ErrOut, "%s changed while being hardened; planning again\n", termsafe.String(w.Ref()))
		}}
}

// runMode is what --dry-run and --yes ask of the engine.
func runMode(dryRun string, yes bool) engine.Mode {
	switch {
	case dryRun == "client":
		return engine.Offline
	case dryRun == "none" && yes:
		return engine.Apply
	}
	return engine.Preview
}

// forSource reports whether the output is for the user's source (a
// kustomize overlay or patches) rather than the live object: who owns a
// field live does not hold a fix back there.
func forSource(output string) bool {
	return output == "patch" || strings.HasPrefix(output, "kustomize=")
}

// progress reports rollout progress on stderr, where it never mixes with
// machine output.
func (o *HardenOptions) progress(msg string) {
	fmt.Fprintln(o.ErrOut, termsafe.String(strings.TrimRight(msg, "\n")))
}

// print writes one workload in the text or diff formats; json, yaml and
// patch are written once for all workloads.
func (o *HardenOptions) print(snap *inspect.Snapshot, wl report.Workload, p *plan.Plan, index int) error {
	switch o.Output {
	case "diff":
		if line := policyLine(o.policy); line != "" && index == 0 {
			fmt.Fprintf(o.Out, "# %s\n", termsafe.String(line))
		}
		fmt.Fprint(o.Out, report.DiffHeader(wl.Kind, wl.Namespace, wl.Name, wl.Findings))
		ref := strings.ToLower(wl.Kind) + "/" + wl.Name + " -n " + wl.Namespace
		for _, l := range needsHuman(o.selection, wl.Findings) {
			fmt.Fprintf(o.Out, "# %s: %s\n", termsafe.String(ref), l)
		}
		_, err := fmt.Fprint(o.Out, report.RenderDiff(p.Diff(), o.styles))
		return err
	case "", "text":
		if index > 0 {
			fmt.Fprintln(o.Out)
		} else if line := policyLine(o.policy); line != "" {
			fmt.Fprintln(o.Out, termsafe.String(line))
		}
		report.PrintSnapshot(o.Out, snap)
		fmt.Fprintln(o.Out)
		report.WriteText(o.Out, wl, p, o.styles)
		o.hint(wl, p)
	}
	return nil
}

// hint says what to type next.
func (o *HardenOptions) hint(wl report.Workload, p *plan.Plan) {
	fixable, named := suggestions(wl.Findings)
	held := 0
	for _, f := range wl.Findings {
		if f.Status == rules.StatusConflict {
			held++
		}
	}
	if held > 0 {
		fmt.Fprintf(o.Out, "  conflict: %s left to the field managers that own their fields: --force-conflicts takes them live, or -o kustomize=DIR / -o patch writes them for the source\n", report.Count(held, "fix", "fixes"))
	}
	switch {
	case !p.Empty() && !wl.Applied && o.DryRun == "none" && !o.Yes:
		fmt.Fprintf(o.Out, "  %s (review first with -o diff)\n", applyHint(o.DryRun, o.Yes))
	case !p.Empty() && !wl.Applied:
		fmt.Fprintf(o.Out, "  %s\n", applyHint(o.DryRun, o.Yes))
	case len(fixable) > 0:
		fmt.Fprintf(o.Out, "  to fix: --fix=%s (or --fix=all)\n", strings.Join(fixable, ","))
	}
	if len(named) > 0 {
		fmt.Fprintf(o.Out, "  fixed only when named, once you have read why above: --fix=%s\n", strings.Join(named, ","))
	}
}

// suggestions are the rules worth naming next, each once, in the
// findings' order: fixable, the rules of not-selected findings that
// --fix=all would plan (a finding that needs a human whatever is chosen
// is needs-human, never not-selected, so it is never offered); named,
// the opt-in rules left unplanned, which --fix=all never fixes: they are
// offered apart, to be named.
func suggestions(findings []rules.Result) (fixable, named []string) {
	for _, f := range findings {
		optInLeft := f.OptIn != "" && (f.Status == rules.StatusNotSelected ||
			f.Status == rules.StatusSkipped && f.Reason != rules.SkippedByFlag)
		switch {
		case optInLeft && !slices.Contains(named, f.Rule):
			named = append(named, f.Rule)
		case f.OptIn == "" && f.Status == rules.StatusNotSelected && !slices.Contains(fixable, f.Rule):
			fixable = append(fixable, f.Rule)
		}
	}
	return fixable, named
}

// applyHint is what a run that planned fixes without applying them says
// happened, and how to apply them. --yes applies only with
// --dry-run=none; --dry-run=server has the API server check the plan (a
// server-side dry-run, conflicts included) and --dry-run=client plans
// offline.
func applyHint(dryRun string, yes bool) string {
	switch {
	case dryRun == "server":
		return "--dry-run=server: the API server accepted the plan; nothing was applied"
	case dryRun == "client":
		return "--dry-run=client: planned without asking the API server; nothing was applied"
	case !yes:
		return "to apply: add --yes"
	}
	return "nothing was applied"
}

// orList is the words as a sentence lists them: "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
