package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
	"github.com/kubectl-harden/kubectl-harden/internal/tui"
)

// AuditOptions is `kubectl harden audit`.
type AuditOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	AllNamespaces bool
	Selector      string
	Kinds         []string
	ChunkSize     int64
	Output        string
	FailOn        string
	MinScore      int
	Skip          []string
	Color         string
	// Publish is --publish: policyreport, openreports or auto;
	// publishTo the report kind it resolved to, before the audit.
	Publish   string
	publishTo reportAPI

	// Fixing from the audit: the same flags, and meanings, as the main
	// command's.
	Fix            []string
	Set            []string
	Yes            bool
	DryRun         string
	FieldManager   string
	ForceConflicts bool
	Watch          bool
	Timeout        time.Duration
	Parallel       int // --parallel: workloads fixed at once (audit_fix.go)

	*session
	fleet     fleetOptions
	failOn    rules.Severity
	styles    report.Styles
	selection rules.Selection
	htmlFile  string // -o html=FILE
	policy    *policy.Policy
}

// NewAuditCommand builds `kubectl harden audit`.
func NewAuditCommand(flags *genericclioptions.ConfigFlags, f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AuditOptions{ConfigFlags: flags, IOStreams: streams, Kinds: inspect.KindsIn(inspect.Workloads),
		ChunkSize: 500, MinScore: -1, Color: "auto", DryRun: "none", FieldManager: plan.DefaultFieldManager, Watch: true, Timeout: 5 * time.Minute, Parallel: engine.DefaultParallel}
	cmd := &cobra.Command{
		Use:   "audit [-n NAMESPACE | -A] [-l SELECTOR]",
		Short: "Score every workload of a namespace or the cluster",
		Long: `Audit every workload (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs) of a
namespace or of the whole cluster, and the namespaces themselves (Pod
Security Admission labels, quotas, default-deny NetworkPolicy, bare pods).

Each workload, namespace and the cluster get a score from 0 to 100. Pending
findings (neither fixed nor exempted) add a penalty — 30 per critical, 15
per high, 7 per medium, 3 per low — and the score is 100·100/(100+penalty):
100 with nothing pending, 50 at a penalty of 100. A namespace scores the
mean of its workloads, scaled by the score of its own findings; the
cluster, the mean of its namespaces weighted by their workloads.

Everything is read with one paginated LIST per kind, whatever the number of
workloads.

Output formats (-o): table (default), json, yaml, sarif (SARIF 2.1.0 for
GitHub code scanning: one result per pending finding, located at
namespaces/NS/KIND/NAME.yaml), junit (one testsuite per namespace, one
testcase per workload × applicable rule, a failure per pending finding)
markdown (a report to paste in a ticket, with the command that fixes
each workload) and html (one self-contained page to hand to people: charts
per namespace and rule, the workloads worst first, each finding's why and
the command that fixes it; -o html=FILE writes it to FILE).

Several clusters at once: --context a,b,c (or --all-contexts, every
context of the kubeconfig) reads them in parallel, each with its own
context's credentials, into one report that names the cluster of every
line: a CLUSTER column, an AuditReportList (-o json|yaml), a SARIF run per
cluster (automationDetails.id kubectl-harden/CONTEXT/), JUnit suites
CONTEXT/NAMESPACE, a Markdown section per cluster. A cluster that cannot
be read is reported as not audited and the others still are; the exit
status is then 2. --context with one name is kubectl's, as everywhere.

-o policyreport and -o openreports print the audit as wgpolicyk8s.io/v1alpha2
PolicyReports or openreports.io/v1alpha1 Reports, one per namespace
(harden-NAMESPACE); --publish writes them to the cluster with server-side
apply, where Policy Reporter and other PolicyReport readers find them.

--fix fixes the audited workloads on the same safe path as kubectl
harden TYPE/NAME --fix: a fresh read, fixes whose fields another
field manager owns (kubectl apply, Helm, Argo CD, Flux, an autoscaler)
held back as conflict unless --force-conflicts, a server-side dry-run,
server-side apply with an undo record, a rollout watch and an automatic
rollback. Without --yes it only says what it would change (-o diff shows
the diffs). One workload failing never stops the others; the summary
counts what was fixed, rolled back, failed, left unchanged or held back,
and the scores before and after.

With --yes, --parallel N (4 by default) fixes N workloads at once, each
with its own rollout watch and rollback; never two runs of one workload,
and in a namespace never more runs of workloads a PodDisruptionBudget
covers than the least disruptionsAllowed of those budgets (at least
one). The outcome lines come in the same order as with --parallel 1.

Exit status: 0 nothing pending (with --fix: nothing pending of the rules
asked for); 1 findings pending (or, with --fail-on/--min-score, the gate
failed); 2 an error, or with --fix a workload that failed or rolled back.`,
		Example: `  kubectl harden audit -n shop
  kubectl harden audit -A -o json
  kubectl harden audit -A --fail-on=high --min-score=70   # CI gate
  kubectl harden audit -A -o sarif > harden.sarif         # GitHub code scanning
  kubectl harden audit -n shop -o junit > harden.xml      # CI test reports
  kubectl harden audit -A --context prod-eu,prod-us -o sarif > fleet.sarif   # a fleet: one SARIF run per cluster
  kubectl harden audit -A -o html=audit.html              # a page to hand to people
  kubectl harden audit -A --publish                       # PolicyReports in the cluster, for Policy Reporter
  kubectl harden audit -n shop --fix=replicas,pdb,spread -o diff   # preview
  kubectl harden audit -n shop --fix=replicas,pdb,spread --yes     # apply, 4 workloads at a time
  kubectl harden audit -A --fix=all --yes --parallel 1             # apply, one workload after another`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Audit every namespace")
	fs.StringVarP(&o.Selector, "selector", "l", "", "Only workloads matching this label selector")
	fs.StringSliceVar(&o.Kinds, "kinds", o.Kinds, "Workload kinds to audit")
	fs.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Objects per LIST page")
	fs.StringVarP(&o.Output, "output", "o", "", "Output format: table (default), json, yaml, sarif, junit, markdown, html or html=FILE; with --fix, table or diff")
	fs.StringVar(&o.FailOn, "fail-on", "", "Exit 1 when a pending finding is this severe or worse: critical, high, medium or low")
	fs.IntVar(&o.MinScore, "min-score", o.MinScore, "Exit 1 when the cluster's score is below this")
	fs.StringVar(&o.Color, "color", o.Color, "Colour the output: auto, always or never (NO_COLOR is honoured)")
	o.fixFlags().AddFlags(cmd)
	fs.IntVar(&o.Parallel, "parallel", o.Parallel, "With --fix --yes: how many workloads to fix at once, 1 to 32 (1: one after another, 0: the default); in a namespace, the rollouts of workloads a PodDisruptionBudget covers take down at most as many pods at once as its budgets allow disruptions")
	o.fleet.addFlags(fs)
	registerPublishFlag(fs, o)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(auditFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"critical", "high", "medium", "low"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// auditFormats are the -o values of the audit: the printer registry's,
// and diff, only with --fix.
var auditFormats = append(report.AuditFormats(), "diff")

// fixFlags is the fix-flags bundle over o's fields, worded for fixing
// from an audit.
func (o *AuditOptions) fixFlags() fixFlags {
	return fixFlags{Fix: &o.Fix, Skip: &o.Skip, Set: &o.Set, Yes: &o.Yes, DryRun: &o.DryRun, FieldManager: &o.FieldManager,
		ForceConflicts: &o.ForceConflicts, Watch: &o.Watch, Timeout: &o.Timeout, Usage: map[string]string{
			"fix":     "Fix these rules on every audited workload: all, or rule IDs, aliases (probes) or categories, comma-separated",
			"skip":    "Rules to leave out, comma-separated",
			"yes":     "With --fix: apply the planned fixes without asking",
			"dry-run": `With --fix: "none" applies (with --yes); "server" sends a server-side dry-run only; "client" plans without asking the server`,
			"watch":   "After applying, watch each rollout until it completes",
			"timeout": "How long to watch each rollout before rolling back",
		}}
}

// Complete builds the clients and the rule selection.
func (o *AuditOptions) Complete(f cmdutil.Factory, cmd *cobra.Command) error {
	var err error
	if o.selection, o.policy, err = o.fixFlags().Complete(cmd); err != nil {
		return err
	}
	if err := refuseWithoutFix(cmd, o.Fix, "kubectl harden audit -n NS --fix=pdb,spread --yes"); err != nil {
		return err
	}
	if len(o.Fix) == 0 && cmd != nil && cmd.Flags().Changed("parallel") {
		return fmt.Errorf("--parallel only applies with --fix, e.g. kubectl harden audit -n NS --fix=pdb,spread --yes")
	}
	if o.ForceConflicts {
		o.selection.Force = []string{"all"}
	}
	o.styles = report.NewStyles(useColor(o.Color, o.Out))
	if fleet, err := o.completeFleet(cmd); fleet || err != nil {
		return err
	}
	o.session, err = newSession(f, o.ConfigFlags, inspect.Targets{}, o.FieldManager, false, o.fixRuns())
	return err
}

// Validate checks the flags, in this order: -o (html=FILE, the fleet's
// formats, those --fix allows), the fix flags, the gate (--fail-on,
// --min-score), the scope (--kinds, --chunk-size), --color and
// --publish. It returns the first error, naming its flag.
func (o *AuditOptions) Validate() error {
	for _, check := range []func() error{
		o.parseHTMLOutput, o.validateFleet, o.validateOutput,
		func() error { return o.fixFlags().Validate(o.selection) }, o.validateParallel,
		o.validateGate, o.validateScope,
		func() error { return validateColor(o.Color) },
		o.validatePublish,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateOutput checks -o: a format of the printer registry, or diff,
// which only --fix prints (and --fix prints only table and diff).
func (o *AuditOptions) validateOutput() error {
	switch {
	case len(o.Fix) > 0 && o.Output != "" && o.Output != "table" && o.Output != "diff":
		return fmt.Errorf("with --fix, --output must be table or diff, got %q (audit again afterwards for the other formats)", o.Output)
	case len(o.Fix) == 0 && o.Output == "diff":
		return fmt.Errorf("-o diff shows what --fix would change: add --fix")
	case !slices.Contains(auditFormats, o.Output) && o.Output != "":
		return fmt.Errorf("--output must be one of %s or html=FILE, got %q", strings.Join(auditFormats[:len(auditFormats)-1], ", "), o.Output)
	}
	return nil
}

// validateGate reads --fail-on into failOn and checks --min-score (at
// most 100; -1, the default, is no minimum).
func (o *AuditOptions) validateGate() error {
	if o.FailOn != "" {
		sev, err := rules.ParseSeverity(o.FailOn)
		if err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
		o.failOn = sev
	}
	if o.MinScore > 100 {
		return fmt.Errorf("--min-score must be at most 100")
	}
	return nil
}

// validateScope checks --kinds (workload kinds inspect knows, in any of
// kubectl's spellings) and --chunk-size (positive).
func (o *AuditOptions) validateScope() error {
	for _, k := range o.Kinds {
		if !inspect.KindNamed(k) {
			return fmt.Errorf("--kinds: unknown kind %q (Deployment, StatefulSet, DaemonSet, Job, CronJob)", k)
		}
	}
	if o.ChunkSize < 1 {
		return fmt.Errorf("--chunk-size must be positive")
	}
	return nil
}

// Run reads, evaluates, verifies the Pod Security levels with the API
// server, prints, and gates.
func (o *AuditOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	clusters := 1
	if o.fleet.active() {
		clusters = min(len(o.fleet.contexts), fleetParallel)
	}
	defer tuneGC(clusters)()
	if o.fleet.active() {
		return o.runFleet(ctx)
	}
	scope := o.scope()
	cluster, err := o.reader.Cluster(ctx)
	if err != nil {
		return err
	}
	cluster.Context = o.context
	if len(o.Fix) > 0 {
		return o.fix(ctx, cluster, scope)
	}
	if err := o.preparePublish(ctx, scope); err != nil {
		return err
	}
	if o.spills() {
		return o.printSpilled(ctx, cluster, scope)
	}
	rep, _, err := o.audit(ctx, cluster, scope, rules.Selection{Skip: o.Skip})
	if err != nil {
		return err
	}
	o.verifyPodSecurity(ctx, rep)
	if o.Output == "" && onTerminal(o.IOStreams) && o.Publish == "" {
		return o.browse(ctx, cluster, scope, rep)
	}
	printer, _ := report.AuditPrinterFor(o.Output)
	if err := o.writeHTML(func(w io.Writer, opt report.HTMLOptions) error {
		return printer.Audit(w, rep, report.PrintOptions{Styles: o.styles, HTML: opt})
	}); err != nil {
		return err
	}
	if o.Publish != "" {
		return o.publish(ctx, scope, rep)
	}
	if o.fails(rep) {
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// spills reports whether the audit's namespaces go to a spool as they are
// scored rather than into the report: for -o json and yaml, which the
// spool writes, when nothing else reads the whole report (--publish).
func (o *AuditOptions) spills() bool {
	return (o.Output == "json" || o.Output == "yaml") && o.Publish == ""
}

// printSpilled audits with the namespaces spilled (spills), writes the
// report and gates: the audit's memory follows its largest namespace, not
// the cluster.
func (o *AuditOptions) printSpilled(ctx context.Context, cluster *inspect.Cluster, scope inspect.Scope) error {
	spill := o.newSpiller(ctx, o.Output)
	defer spill.spool.Close()
	rep, _, err := o.auditSpilling(ctx, cluster, scope, rules.Selection{Skip: o.Skip}, spill)
	if err != nil {
		return err
	}
	if err := spill.spool.Write(o.Out, rep); err != nil {
		return err
	}
	if o.fails(rep) {
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// fails is the audit's gate for exit code 1: a pending finding at least as
// severe as --fail-on or a score under --min-score; without either, any
// pending finding. The printed report and the browser both end by it.
func (o *AuditOptions) fails(rep *audit.Report) bool {
	if o.failOn != 0 || o.MinScore >= 0 {
		return (o.failOn != 0 && rep.Pending.AtLeast(o.failOn) > 0) || (o.MinScore >= 0 && rep.Score < o.MinScore)
	}
	return rep.Pending.AtLeast(rules.Low) > 0
}

// browse opens the audit browser: the workloads worst first, each opening
// the same fix view as kubectl harden TYPE/NAME. It ends like the printed
// audit, by the gate (fails) on the report as last audited — after fixes
// were applied, audited again — or with 130 when ctrl+c aborted it.
func (o *AuditOptions) browse(ctx context.Context, cluster *inspect.Cluster, scope inspect.Scope, rep *audit.Report) error {
	eng := o.engine(o.Watch, o.Timeout)
	eng.Policy = o.selection.Policy
	open := func(ctx context.Context, ns, kind, name string) (tui.Engine, tui.Workload, error) {
		found, err := inspect.Resolve(o.builder(), inspect.Targets{Args: []string{kind + "/" + name}, Namespace: ns, ExplicitNS: true})
		if err != nil {
			return nil, tui.Workload{}, err
		}
		s, info, err := eng.Open(ctx, cluster, found[0], o.Skip)
		info.Policy = policyName(o.policy)
		return s, info, err
	}
	refresh := func(ctx context.Context) (*audit.Report, error) {
		rep, _, err := o.audit(ctx, cluster, scope, rules.Selection{Skip: o.Skip})
		return rep, err
	}
	b := tui.NewBrowser(ctx, rep, o.context, open, refresh)
	in := interruptsOf(ctx)
	var kill <-chan struct{}
	if in != nil {
		var ended func()
		kill, ended = in.killOnSecond()
		defer ended()
	}
	if err := tui.Run(ctx, b, tui.Terminal{In: o.In, Out: o.ErrOut, Color: useColor(o.Color, o.ErrOut), Kill: kill}); err != nil {
		return err
	}
	if out, w := b.Interrupted(); out != nil {
		return &InterruptedError{State: interruptedState(tuiRef(w.Kind, w.Name, w.Namespace), out.Plan, out.Err == nil && out.Applied != nil, out.Applied != nil || out.Err != nil && !errors.Is(out.Err, ErrInterrupted), out.Err)}
	}
	if in.interrupted() {
		return &InterruptedError{State: "no fix was being applied"}
	}
	if b.Aborted() {
		return ExitCodeError(ExitAborted)
	}
	if o.fails(b.Report()) {
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// audit reads the scope with one LIST per kind and evaluates it namespace
// by namespace, as the lists arrive. It also returns the workloads that
// have a planned fix, the only ones it keeps.
func (o *AuditOptions) audit(ctx context.Context, cluster *inspect.Cluster, scope inspect.Scope, sel rules.Selection) (*audit.Report, []*inspect.Workload, error) {
	return o.auditSpilling(ctx, cluster, scope, sel, nil)
}

// auditSpilling is audit handing each namespace, once scored, to spill
// (nil: kept in the report): the report's namespaces then hold only their
// scores and counts.
func (o *AuditOptions) auditSpilling(ctx context.Context, cluster *inspect.Cluster, scope inspect.Scope, sel rules.Selection, spill *spiller) (*audit.Report, []*inspect.Workload, error) {
	sel = withPolicy(sel, o.policy)
	read := func(scope inspect.Scope) (*audit.Report, []*inspect.Workload, error) {
		a := audit.New(sel)
		if spill != nil {
			a.Spill = spill.spill
		}
		var planned []*inspect.Workload
		unread := cluster.Unread
		err := o.reader.EachNamespace(ctx, scope, func(inv *inspect.Inventory) error {
			unread = inspect.MergeUnread(unread, inv.Unread)
			snaps := inv.Snapshots(cluster)
			ws, err := a.Add(ctx, snaps, inv.NamespaceSnapshot())
			for i, w := range ws {
				if slices.ContainsFunc(w.Findings, func(r rules.Result) bool { return r.Status == rules.StatusPlanned }) {
					planned = append(planned, snaps[i].Workload)
				}
			}
			return err
		})
		if spill != nil {
			err = errors.Join(err, spill.wait())
		}
		rep := a.Report()
		rep.Unread, rep.Policy = unread, policyRef(o.policy)
		return rep, planned, err
	}
	rep, planned, err := read(scope)
	// An API server that lists out of namespace order is read again, each
	// kind whole before it is handed over.
	if errors.Is(err, inspect.ErrUnordered) {
		scope.Sorted = true
		if spill != nil {
			spill.reset()
		}
		rep, planned, err = read(scope)
	}
	if err != nil {
		return nil, nil, firstRefusedList(ctx, o.reader.Client, o.applier.Mapper, scope, err)
	}
	return rep, planned, nil
}

// verifyPodSecurity asks the API server, with a dry-run of the label, what
// it thinks of each recommended Pod Security level (verifyNamespace), for
// verifyAtOnce namespaces at a time. Nothing is changed.
func (o *AuditOptions) verifyPodSecurity(ctx context.Context, rep *audit.Report) {
	var g errgroup.Group
	g.SetLimit(verifyAtOnce)
	for i := range rep.Namespaces {
		g.Go(func() error { o.verifyNamespace(ctx, &rep.Namespaces[i]); return nil })
	}
	g.Wait()
}

// verifyAtOnce is how many namespaces' dry-runs are sent at once: each is
// one small PATCH, and sent one by one they were a tenth of a 400-namespace
// audit's time.
const verifyAtOnce = 8

// verifyNamespace asks the API server, with a dry-run of the label, what it
// thinks of the namespace's recommended Pod Security level: its warnings
// name the pods that would violate it. The finding's message says what it
// answered.
func (o *AuditOptions) verifyNamespace(ctx context.Context, n *audit.Namespace) {
	for j := range n.Findings {
		f := &n.Findings[j]
		label, level, ok := strings.Cut(f.Field, "=")
		if f.Rule != "pod-security-labels" || !ok || level == "privileged" || f.Status != rules.StatusNeedsHuman {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{label: level}}})
		var seen apply.Warnings
		_, err := o.reader.Client.CoreV1().Namespaces().Patch(apply.WithWarnings(ctx, &seen), n.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		warnings := seen.Take()
		switch {
		case err != nil:
			f.Message += " (not verified with the API server: " + Explain(err) + ")"
		case len(warnings) > 0:
			f.Message += " (the API server's dry-run warns: " + strings.Join(warnings, "; ") + ")"
		default:
			f.Message += " (verified: the API server's dry-run of the label raises no warning)"
		}
	}
}

// spiller takes the namespaces of a -o json|yaml audit as they are scored
// (audit.Auditor.Spill): it verifies their Pod Security levels, a few at
// once, and adds them to the spool, which writes the report at the end.
type spiller struct {
	o     *AuditOptions
	ctx   context.Context
	spool *report.Spool
	g     *errgroup.Group
}

func (o *AuditOptions) newSpiller(ctx context.Context, format string) *spiller {
	s := &spiller{o: o, ctx: ctx, spool: report.NewSpool(format, "")}
	s.g = &errgroup.Group{}
	s.g.SetLimit(verifyAtOnce)
	return s
}

// spill is the Auditor's Spill: it returns once the namespace is queued.
func (s *spiller) spill(n *audit.Namespace) error {
	s.g.Go(func() error {
		s.o.verifyNamespace(s.ctx, n)
		return s.spool.Add(n)
	})
	return nil
}

// wait waits for the namespaces queued, and returns the first error.
func (s *spiller) wait() error {
	err := s.g.Wait()
	s.g = &errgroup.Group{}
	s.g.SetLimit(verifyAtOnce)
	return err
}

// reset forgets what was spilled: the scope is read again.
func (s *spiller) reset() {
	s.wait()
	s.spool.Reset()
}

// printFixNotes writes, under a workload's line of audit --fix, what each
// fix of the chosen rules does (its description: the source of its
// numbers) and its warnings, and why a chosen rule needs a human instead.
func (o *AuditOptions) printFixNotes(results []rules.Result) {
	for _, r := range results {
		for _, l := range report.FixLines(r) {
			fmt.Fprintf(o.Out, "             %s: %s\n", r.Rule, l)
		}
		for _, l := range needsHuman(o.selection, []rules.Result{r}) {
			fmt.Fprintf(o.Out, "             %s\n", l)
		}
	}
}

// needsHuman are the lines "RULE: needs a human: REASON", escaped, of the
// findings of the rules sel chooses that need a human: what the text
// report shows as needs-human with its reason, for -o diff and audit
// --fix.
func needsHuman(sel rules.Selection, results []rules.Result) []string {
	var out []string
	for _, r := range results {
		if rule, ok := rules.Get(r.Rule); ok && r.Status == rules.StatusNeedsHuman && sel.Chooses(rule.Meta()) {
			out = append(out, fmt.Sprintf("%s: needs a human: %s", r.Rule, termsafe.String(r.Reason)))
		}
	}
	return out
}

// outcome is what --fix did to one workload.
type outcome string

const (
	outcomeFixed      outcome = "fixed"
	outcomeRolledBack outcome = "rolled back"
	outcomeFailed     outcome = "failed"
	outcomeUnchanged  outcome = "unchanged"
	outcomePlanned    outcome = "would change"
	outcomeHeld       outcome = "conflict"
)

// workloadKey names a workload across namespaces, whatever the case of
// its kind.
func workloadKey(kind, namespace, name string) string {
	return strings.ToLower(kind) + "/" + namespace + "/" + name
}

// pendingOf counts the pending findings of the rules the words select.
func pendingOf(rep *audit.Report, words []string) int {
	n := 0
	count := func(findings []rules.Result) {
		for _, f := range findings {
			r, ok := rules.Get(f.Rule)
			if ok && f.Pending() && r.Meta().SelectedBy(words) {
				n++
			}
		}
	}
	for _, ns := range rep.Namespaces {
		for _, w := range ns.Workloads {
			count(w.Findings)
		}
	}
	return n
}

// findingsOf says how many findings have this status, and of which rules.
func findingsOf(results []rules.Result, st rules.Status) string {
	n := 0
	var ids []string
	for _, r := range results {
		if r.Status == st {
			n++
			if !slices.Contains(ids, r.Rule) {
				ids = append(ids, r.Rule)
			}
		}
	}
	return fmt.Sprintf("%s (%s)", report.Count(n, "finding", "findings"), strings.Join(ids, ", "))
}

// newProgress is --fix's progress on out (stderr) for total workloads:
// a bar redrawn in place when out is a terminal.
func newProgress(out io.Writer, total int, st report.Styles) *report.Progress {
	return report.NewProgress(out, total, st, isTerminal(out))
}
