package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/pkg/audit"
	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
	"github.com/kubectl-harden/kubectl-harden/pkg/report"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
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

	*session
	failOn rules.Severity
	styles report.Styles
}

// NewAuditCommand builds `kubectl harden audit`.
func NewAuditCommand(flags *genericclioptions.ConfigFlags, f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AuditOptions{ConfigFlags: flags, IOStreams: streams, Kinds: []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"},
		ChunkSize: 500, MinScore: -1, Color: "auto"}
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
workloads.`,
		Example: `  kubectl harden audit -n shop
  kubectl harden audit -A -o json
  kubectl harden audit -A --fail-on=high --min-score=70   # CI gate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(f); err != nil {
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
	fs.StringVarP(&o.Output, "output", "o", "", "Output format: table (default), json or yaml")
	fs.StringVar(&o.FailOn, "fail-on", "", "Exit 1 when a pending finding is this severe or worse: critical, high, medium or low")
	fs.IntVar(&o.MinScore, "min-score", o.MinScore, "Exit 1 when the cluster's score is below this")
	fs.StringSliceVar(&o.Skip, "skip", nil, "Rules to leave out, comma-separated")
	fs.StringVar(&o.Color, "color", o.Color, "Colour the output: auto, always or never (NO_COLOR is honoured)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"critical", "high", "medium", "low"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete builds the clients.
func (o *AuditOptions) Complete(f cmdutil.Factory) error {
	var err error
	o.session, err = newSession(f, o.ConfigFlags, inspect.Targets{}, plan.DefaultFieldManager, false)
	o.styles = report.NewStyles(useColor(o.Color, o.Out))
	return err
}

// Validate checks the flags.
func (o *AuditOptions) Validate() error {
	switch o.Output {
	case "", "table", "json", "yaml":
	default:
		return fmt.Errorf("--output must be table, json or yaml, got %q", o.Output)
	}
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
	for _, k := range o.Kinds {
		if !inspect.KindNamed(k) {
			return fmt.Errorf("--kinds: unknown kind %q (Deployment, StatefulSet, DaemonSet, Job, CronJob)", k)
		}
	}
	if o.ChunkSize < 1 {
		return fmt.Errorf("--chunk-size must be positive")
	}
	return rules.ValidateSelection(rules.Selection{Skip: o.Skip})
}

// Run reads, evaluates, verifies the Pod Security levels with the API
// server, prints, and gates.
func (o *AuditOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	scope := inspect.Scope{Namespace: o.targets.Namespace, Selector: o.Selector, Kinds: map[string]bool{}, ChunkSize: o.ChunkSize}
	if o.AllNamespaces {
		scope.Namespace = ""
	}
	for _, k := range o.Kinds {
		scope.Kinds[inspect.CanonicalKind(k)] = true
	}
	cluster, err := o.reader.Cluster(ctx)
	if err != nil {
		return err
	}
	cluster.Context = o.context
	inv, err := o.reader.Inventory(ctx, scope)
	if err != nil {
		return err
	}
	rep, err := audit.Run(ctx, inv.Snapshots(cluster), inv.NamespaceSnapshots(), rules.Selection{Skip: o.Skip})
	if err != nil {
		return err
	}
	o.verifyPodSecurity(ctx, rep)
	switch o.Output {
	case "json":
		err = printJSON(o.Out, rep)
	case "yaml":
		err = printYAML(o.Out, rep)
	default:
		err = report.WriteAuditTable(o.Out, rep, o.styles)
	}
	if err != nil {
		return err
	}
	failed := false
	switch {
	case o.failOn != 0 || o.MinScore >= 0:
		failed = (o.failOn != 0 && rep.Pending.AtLeast(o.failOn) > 0) || (o.MinScore >= 0 && rep.Score < o.MinScore)
	default:
		failed = rep.Pending.AtLeast(rules.Low) > 0
	}
	if failed {
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// verifyPodSecurity asks the API server, with a dry-run of the label, what
// it thinks of each recommended Pod Security level: its warnings name the
// pods that would violate it. Nothing is changed.
func (o *AuditOptions) verifyPodSecurity(ctx context.Context, rep *audit.Report) {
	for i := range rep.Namespaces {
		n := &rep.Namespaces[i]
		for j := range n.Findings {
			f := &n.Findings[j]
			label, level, ok := strings.Cut(f.Field, "=")
			if f.Rule != "pod-security-labels" || !ok || level == "privileged" || f.Status != rules.StatusManual {
				continue
			}
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{label: level}}})
			o.applier.Warnings.Take()
			_, err := o.reader.Client.CoreV1().Namespaces().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			warnings := o.applier.Warnings.Take()
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
}
