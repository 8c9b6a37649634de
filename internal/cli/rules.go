package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// RulesOptions lists the registered rules.
type RulesOptions struct {
	Output string
	// Set are --set RULE.PARAM=VALUE, shown with the policy's defaults.
	Set []string
	genericiooptions.IOStreams

	policy *policy.Policy
	params map[string]rules.Params
}

// NewRulesCommand builds `kubectl harden rules`.
func NewRulesCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &RulesOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "rules",
		Short:   "List the hardening rules, their why and their fix",
		Example: "  kubectl harden rules\n  kubectl harden rules -o markdown > docs/rules.md",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringArrayVar(&o.Set, "set", nil, "A fix parameter RULE.PARAM=VALUE, shown as the effective policy's value (source --set)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: table (default), json, yaml or markdown")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml", "markdown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete reads the policy file (--config, or the one found from the
// working directory) and --set.
func (o *RulesOptions) Complete(cmd *cobra.Command) error {
	var err error
	if o.policy, err = loadPolicy(cmd); err != nil {
		return err
	}
	sel, err := parseSelection(nil, nil, o.Set)
	o.params = sel.Params
	if err == nil {
		err = validateSet(o.Set)
	}
	if err == nil {
		err = rules.ValidateSelection(sel)
	}
	return err
}

// Validate checks the output format.
func (o *RulesOptions) Validate() error {
	switch o.Output {
	case "", "table", "json", "yaml", "markdown":
		return nil
	}
	return fmt.Errorf("--output must be table, json, yaml or markdown, got %q", o.Output)
}

// Run prints the registry.
func (o *RulesOptions) Run() error {
	var metas []rules.Meta
	for _, r := range rules.All() {
		metas = append(metas, r.Meta())
	}
	for _, r := range rules.NamespaceRules() { // audit only
		metas = append(metas, r.Meta())
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].ID < metas[j].ID })
	// With a policy file or --set: the rules as a run would use them
	// (docs/rules.md, -o markdown, is always the registry's).
	if (o.policy != nil || len(o.Set) > 0) && o.Output != "markdown" {
		eff := effectivePolicy(metas, o.policy, o.params)
		doc := struct {
			Policy *policy.Ref     `json:"policy,omitempty"`
			Rules  []effectiveRule `json:"rules"`
		}{policyRef(o.policy), eff}
		switch o.Output {
		case "json":
			return report.WriteJSON(o.Out, doc)
		case "yaml":
			return report.WriteYAML(o.Out, doc)
		}
		return writeEffectivePolicy(o.Out, o.policy, eff)
	}
	switch o.Output {
	case "json":
		return report.WriteJSON(o.Out, metas)
	case "yaml":
		return report.WriteYAML(o.Out, metas)
	case "markdown":
		return report.WriteRulesMarkdown(o.Out, metas)
	}
	tw := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tALIASES\tCATEGORY\tSEVERITY\tFIX\tTITLE")
	for _, m := range metas {
		fix := "report"
		if m.Fixable {
			fix = "auto"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, orDash(strings.Join(m.Aliases, ",")), m.Category, m.Severity, fix, m.Title)
	}
	return tw.Flush()
}

// orDash is s, or "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
