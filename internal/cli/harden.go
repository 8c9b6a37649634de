package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
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
	fs.StringSliceVar(&o.Fix, "fix", nil, "Rules to fix: all, or rule IDs, aliases (probes) or categories, comma-separated")
	fs.StringSliceVar(&o.Skip, "skip", nil, "Rules never to fix or report as pending, comma-separated")
	fs.StringArrayVar(&o.Set, "set", nil, "A fix parameter, RULE.PARAM=VALUE (e.g. readiness-probe.path=/ready); repeatable")
	fs.BoolVarP(&o.Yes, "yes", "y", false, "Apply the planned fixes without asking")
	fs.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none" applies (with --yes); "server" sends a server-side dry-run only; "client" plans without asking the server`)
	fs.StringVarP(&o.Output, "output", "o", "", "Output format: text, json, yaml, diff, patch (a JSON array: RFC 6902 ops per changed object for kubectl patch --type=json, manifests of the objects to create), or kustomize=DIR (an overlay that kubectl kustomize builds). Without -o, a terminal gets the interactive UI and anything else the text report")
	fs.StringVar(&o.FieldManager, "field-manager", o.FieldManager, "Name of the server-side apply field manager")
	fs.BoolVar(&o.ForceConflicts, "force-conflicts", false, "Also apply the fixes whose fields another field manager owns (kubectl apply, Helm, Argo CD, Flux, an autoscaler); without it they end as conflict and the rest is applied")
	fs.BoolVarP(&o.Watch, "watch", "w", o.Watch, "After applying, watch the rollout until it completes")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to watch a rollout before giving up")
	fs.StringVar(&o.Color, "color", o.Color, "Colour the output: auto, always or never (NO_COLOR is honoured)")
	_ = cmd.RegisterFlagCompletionFunc("output", outputCompletion)
	_ = cmd.RegisterFlagCompletionFunc("set", setCompletion)
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{"none", "server", "client"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fix", ruleCompletion)
	_ = cmd.RegisterFlagCompletionFunc("skip", ruleCompletion)
}

// Complete builds clients, targets and the rule selection.
func (o *HardenOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	var err error
	if o.selection, err = parseSelection(o.Fix, o.Skip, o.Set); err != nil {
		return err
	}
	if o.policy, err = loadPolicy(cmd); err != nil {
		return err
	}
	if o.selection, err = selectionWithPolicy(o.selection, o.policy); err != nil {
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
	}, o.FieldManager, false)
	return err
}

// Validate checks the flags make sense together.
func (o *HardenOptions) Validate() error {
	if len(o.targets.Args) == 0 && len(o.targets.Filenames) == 0 {
		return fmt.Errorf("name a workload, e.g. kubectl harden deploy/web (see kubectl harden --help)")
	}
	switch o.DryRun {
	case "none", "server", "client":
	default:
		return fmt.Errorf(`--dry-run must be "none", "server" or "client", got %q`, o.DryRun)
	}
	switch dir, isKustomize := strings.CutPrefix(o.Output, "kustomize="); {
	case isKustomize && dir == "":
		return fmt.Errorf("-o kustomize=DIR needs a directory")
	case isKustomize && o.Yes:
		return fmt.Errorf("-o kustomize=DIR writes the fixes for your repository and applies nothing: drop --yes")
	case isKustomize:
	case o.Output == "", o.Output == "text", o.Output == "json", o.Output == "yaml", o.Output == "diff", o.Output == "patch":
	default:
		return fmt.Errorf("--output must be text, json, yaml, diff, patch or kustomize=DIR, got %q", o.Output)
	}
	if o.FieldManager == "" {
		return fmt.Errorf("--field-manager must not be empty")
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	if err := validateColor(o.Color); err != nil {
		return err
	}
	if err := validateSet(o.Set); err != nil {
		return err
	}
	return rules.ValidateSelection(o.selection)
}

// parseSelection reads --fix, --skip and --set.
func parseSelection(fix, skip, set []string) (rules.Selection, error) {
	sel := rules.Selection{Fix: fix, Skip: skip, Params: map[string]rules.Params{}}
	for _, kv := range set {
		key, value, ok := strings.Cut(kv, "=")
		id, param, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || id == "" || param == "" {
			return sel, fmt.Errorf("--set %q: want RULE.PARAM=VALUE, e.g. readiness-probe.port=http", kv)
		}
		if sel.Params[id] == nil {
			sel.Params[id] = rules.Params{}
		}
		sel.Params[id][param] = value
	}
	return sel, nil
}

// Run inspects each target, plans the chosen fixes, and prints or applies
// them. It ends with ExitCodeError(1) when findings remain, and with an
// error (exit 2) when a workload failed; the others still run.
func (o *HardenOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	targets := o.targets
	targets.Note = func(msg string) { fmt.Fprintln(o.ErrOut, termsafe.String(msg)) }
	// A workload of the files that is not live is one failed outcome;
	// the others still run.
	var notLive []inspect.NotLive
	targets.NotLive = func(n inspect.NotLive) { notLive = append(notLive, n) }
	workloads, err := inspect.Resolve(o.builder(), targets)
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
	doc := report.Report{APIVersion: report.APIVersion, Kind: report.Kind, Policy: policyRef(o.policy)}
	var plans []*plan.Plan
	pending := false
	// Several workloads are run one by one; one that fails (its rollout
	// rolled back, a write refused) does not stop the others, and each
	// outcome is told at the end.
	var outcomes []string
	var failed []string
	notLiveBefore := func(i int) {
		for len(notLive) > 0 && notLive[0].Index <= i {
			n := notLive[0]
			notLive = notLive[1:]
			ref := n.Ref + " -n " + n.Namespace
			outcomes = append(outcomes, fmt.Sprintf("%-12s %s: %s", outcomeFailed, termsafe.String(ref), termsafe.String(Explain(n.Err))))
			failed = append(failed, ref)
		}
	}
	for i, w := range workloads {
		notLiveBefore(i)
		wl, err := o.harden(ctx, cluster, w, i)
		if err != nil && total == 1 {
			return err
		}
		got, line := outcomeOf(wl.res, err)
		outcomes = append(outcomes, fmt.Sprintf("%-12s %s: %s", got, termsafe.String(w.Ref()+" -n "+w.Namespace()), termsafe.String(line)))
		if err != nil {
			failed = append(failed, w.Ref()+" -n "+w.Namespace())
			if ctx.Err() != nil { // interrupted: the rest is not started
				for _, rest := range workloads[i+1:] {
					outcomes = append(outcomes, fmt.Sprintf("%-12s %s", outcomeNotStarted, termsafe.String(rest.Ref()+" -n "+rest.Namespace())))
				}
				o.printOutcomes(outcomes)
				return err
			}
			continue
		}
		doc.Workloads = append(doc.Workloads, wl.Workload)
		plans = append(plans, wl.plan)
		pending = pending || rules.Pending(wl.Findings)
	}
	notLiveBefore(len(workloads))
	switch o.Output {
	case "json":
		if err := printJSON(o.Out, doc); err != nil {
			return err
		}
	case "yaml":
		if err := printYAML(o.Out, doc); err != nil {
			return err
		}
	case "patch":
		// One array for the run, so several workloads still make one
		// JSON document.
		entries, err := report.Patches(plans)
		if err != nil {
			return err
		}
		if err := printJSON(o.Out, entries); err != nil {
			return err
		}
	default:
		if dir, ok := strings.CutPrefix(o.Output, "kustomize="); ok {
			files, err := report.WriteKustomize(dir, plans)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.Out, "wrote %s (%d files): kubectl kustomize %s builds the hardened objects; commit it where your GitOps tool syncs from (%s says how to use your own base)\n",
				filepath.Join(dir, "kustomization.yaml"), len(files), dir, filepath.Join(dir, "README.md"))
		}
	}
	if total > 1 {
		o.printOutcomes(outcomes)
	}
	var used []fixedOn
	for _, wl := range doc.Workloads {
		ref := strings.ToLower(wl.Kind) + "/" + wl.Name
		if len(doc.Workloads) > 1 {
			ref += " -n " + wl.Namespace
		}
		used = append(used, fixedOn{Ref: ref, Results: wl.Findings})
	}
	printUnusedSets(o.ErrOut, o.Set, used)
	if o.saysNothing(plans) {
		var all []rules.Result
		for _, wl := range doc.Workloads {
			all = append(all, wl.Findings...)
		}
		fmt.Fprintln(o.ErrOut, nothingToChange(o.selection, all))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d workloads failed: %s (each outcome above)", len(failed), total, strings.Join(failed, ", "))
	}
	if pending {
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
		PrintSnapshot(o.Out, snap)
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

// PrintSnapshot writes a human-readable summary of what was inspected.
func PrintSnapshot(out io.Writer, s *inspect.Snapshot) {
	q := termsafe.String
	w := s.Workload
	st := s.Stats()
	fmt.Fprintf(out, "%s in namespace %s (context %s)\n", q(w.Ref()), q(w.Namespace()), q(s.Cluster.Context))
	row := func(k, format string, a ...any) { fmt.Fprintf(out, "  %-16s "+format+"\n", append([]any{k}, a...)...) }
	if r := w.Replicas(); r >= 0 {
		row("replicas", "%d desired, %d ready, %d restarts", r, st.Ready, st.Restarts)
	} else {
		row("pods", "%d, %d ready, %d restarts", st.Total, st.Ready, st.Restarts)
	}
	switch w.RolloutHold() {
	case inspect.RolloutPaused:
		row("rollout", "paused (changes roll out on kubectl rollout resume %s -n %s)", q(w.Ref()), q(w.Namespace()))
	case inspect.RolloutOnDelete:
		row("rollout", "OnDelete (a pod takes a change only when it is deleted)")
	}
	zones := make([]string, 0, len(st.Zones))
	for z, n := range st.Zones {
		if z == "" {
			z = "(no zone)"
		}
		zones = append(zones, fmt.Sprintf("%s=%d", q(z), n))
	}
	sort.Strings(zones)
	// "(no zone)" is a node without the zone label; unread nodes leave
	// every zone unknown.
	if u, unknown := s.Unknown(inspect.ResNodes); unknown {
		row("ready by zone", "unknown: nodes cannot be listed (%s)", u.Reason)
	} else {
		row("ready by zone", "%s (cluster zones: %s)", orNone(strings.Join(zones, " ")), orNone(strings.Join(s.Cluster.Zones(), ", ")))
	}
	for _, p := range s.Pods {
		ready, _ := inspect.PodReady(&p)
		state := string(p.Status.Phase)
		if ready {
			state += ", ready"
		}
		node := p.Spec.NodeName
		if z := s.Cluster.ZoneOf(node); z != "" {
			node += " (" + z + ")"
		}
		row("pod", "%s  %s  on %s", q(p.Name), state, q(orNone(node)))
	}
	for reason, n := range st.Problems {
		row("problem", "%s ×%d", q(reason), n)
	}
	if st.SlowestStart > 0 {
		row("slowest start", "%s from start to ready", st.SlowestStart.Round(time.Second))
	}
	tpl := w.PodTemplate()
	for _, c := range tpl.Spec.Containers {
		row("container", "%s  image %s  probes: %s", q(c.Name), q(c.Image), probes(c.ReadinessProbe != nil, c.LivenessProbe != nil, c.StartupProbe != nil))
	}
	row("services", "%s", names(len(s.Services), func(i int) string { return s.Services[i].Name }))
	row("pdbs", "%s", names(len(s.PDBs), func(i int) string { return s.PDBs[i].Name }))
	row("hpas", "%s", names(len(s.HPAs), func(i int) string { return s.HPAs[i].Name }))
	row("networkpolicies", "%s", names(len(s.NetworkPolicies), func(i int) string { return s.NetworkPolicies[i].Name }))
	classes := fmt.Sprintf("cluster defines %d", len(s.Cluster.PriorityClasses))
	if _, unknown := s.Unknown(inspect.ResPriorityClasses); unknown {
		classes = "cluster's classes unknown"
	}
	row("priorityClass", "%s (%s)", orNone(q(tpl.Spec.PriorityClassName)), classes)
	_, metricsUnread := s.Unknown(inspect.ResPodMetrics)
	switch {
	case s.Usage != nil:
		row("metrics", "served (%d pods measured)", len(s.Usage))
	case metricsUnread:
		row("metrics", "served, not readable")
	default:
		row("metrics", "not served")
	}
	// One line per read the API server refused, with what it leaves
	// unknown: the findings that depend on it say so too.
	for _, u := range s.AllUnread() {
		row("unread", "%s", q(u.String()))
	}
}

func probes(readiness, liveness, startup bool) string {
	var p []string
	for _, x := range []struct {
		on   bool
		name string
	}{{readiness, "readiness"}, {liveness, "liveness"}, {startup, "startup"}} {
		if x.on {
			p = append(p, x.name)
		}
	}
	return orNone(strings.Join(p, ","))
}

func names(n int, name func(int) string) string {
	out := make([]string, n)
	for i := range out {
		out[i] = termsafe.String(name(i))
	}
	return orNone(strings.Join(out, ", "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
