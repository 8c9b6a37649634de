package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// fixFlags is the bundle of flags that choose and apply fixes — --fix,
// --skip, --set, --yes, --dry-run, --field-manager, --force-conflicts,
// --watch, --timeout — shared by harden, audit and undo, in the manner of
// kubectl's flag bundles (AddFlags, Complete, Validate). It points at the
// command's own option fields, so each Options keeps its fields (and a
// literal of it in a test stays valid); a nil pointer is a flag the
// command does not offer (undo chooses no rules).
type fixFlags struct {
	Fix, Skip, Set *[]string
	Yes            *bool
	// DryRun is kubectl's --dry-run (cmdutil.AddDryRunFlag), kept as the
	// strategy's name: "none", "server" or "client".
	DryRun         *string
	FieldManager   *string
	ForceConflicts *bool
	Watch          *bool
	Timeout        *time.Duration
	// Usage replaces the help text of the flags named, where a command
	// words them for its own use (audit: "With --fix: ...", "each
	// rollout"); the others keep fixUsage's.
	Usage map[string]string
}

// fixUsage is each flag's help text as kubectl harden TYPE/NAME words it.
var fixUsage = map[string]string{
	"fix":             "Rules to fix: all, or rule IDs, aliases (probes) or categories, comma-separated",
	"skip":            "Rules never to fix or report as pending, comma-separated",
	"set":             "A fix parameter, RULE.PARAM=VALUE (e.g. readiness-probe.path=/ready); repeatable",
	"yes":             "Apply the planned fixes without asking",
	"dry-run":         `"none" applies (with --yes); "server" sends a server-side dry-run only; "client" plans without asking the server`,
	"field-manager":   "Name of the server-side apply field manager",
	"force-conflicts": "Also apply the fixes whose fields another field manager owns (kubectl apply, Helm, Argo CD, Flux, an autoscaler); without it they end as conflict and the rest is applied",
	"watch":           "After applying, watch the rollout until it completes",
	"timeout":         "How long to watch a rollout before giving up",
}

// dryRunModes are the values of --dry-run, as kubectl's
// cmdutil.GetDryRunStrategy reads them.
var dryRunModes = []string{"none", "server", "client"}

// usage is the help text of the flag name for this command.
func (f fixFlags) usage(name string) string {
	if u, ok := f.Usage[name]; ok {
		return u
	}
	return fixUsage[name]
}

// AddFlags registers the offered flags on cmd, each defaulting to the
// value its field holds (set by the command's constructor), with their
// completions. --dry-run and --field-manager are kubectl's own
// (cmdutil.AddDryRunFlag, cmdutil.AddFieldManagerFlagVar): the same
// values, default "none", and a bare --dry-run meaning client.
func (f fixFlags) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	if f.Fix != nil {
		fs.StringSliceVar(f.Fix, "fix", *f.Fix, f.usage("fix"))
		_ = cmd.RegisterFlagCompletionFunc("fix", ruleCompletion)
	}
	if f.Skip != nil {
		fs.StringSliceVar(f.Skip, "skip", *f.Skip, f.usage("skip"))
		_ = cmd.RegisterFlagCompletionFunc("skip", ruleCompletion)
	}
	if f.Set != nil {
		fs.StringArrayVar(f.Set, "set", *f.Set, f.usage("set"))
		_ = cmd.RegisterFlagCompletionFunc("set", setCompletion)
	}
	if f.Yes != nil {
		fs.BoolVarP(f.Yes, "yes", "y", *f.Yes, f.usage("yes"))
	}
	if f.DryRun != nil {
		cmdutil.AddDryRunFlag(cmd)
		fs.Lookup("dry-run").Usage = f.usage("dry-run")
		_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions(dryRunModes, cobra.ShellCompDirectiveNoFileComp))
	}
	if f.FieldManager != nil {
		cmdutil.AddFieldManagerFlagVar(cmd, f.FieldManager, *f.FieldManager)
		fs.Lookup("field-manager").Usage = f.usage("field-manager")
	}
	if f.ForceConflicts != nil {
		fs.BoolVar(f.ForceConflicts, "force-conflicts", *f.ForceConflicts, f.usage("force-conflicts"))
	}
	if f.Watch != nil {
		fs.BoolVarP(f.Watch, "watch", "w", *f.Watch, f.usage("watch"))
	}
	if f.Timeout != nil {
		fs.DurationVar(f.Timeout, "timeout", *f.Timeout, f.usage("timeout"))
	}
}

// Complete resolves the bundle: --dry-run read by kubectl's
// cmdutil.GetDryRunStrategy into DryRun ("none", "server" or "client";
// kubectl's booleans and a bare --dry-run are accepted as it accepts
// them; a value it refuses is kept as typed, for Validate to name), then
// the rule selection — --fix, --skip, --set — with the policy file's
// (--config, or the one found from the working directory) defaults and
// skips. Without --fix in the bundle (undo), the selection is empty and
// no policy is read.
func (f fixFlags) Complete(cmd *cobra.Command) (rules.Selection, *policy.Policy, error) {
	f.completeDryRun(cmd)
	if f.Fix == nil {
		return rules.Selection{}, nil, nil
	}
	sel, err := f.selection()
	if err != nil {
		return sel, nil, err
	}
	p, err := loadPolicy(cmd)
	if err != nil {
		return sel, nil, err
	}
	sel, err = selectionWithPolicy(sel, p)
	return sel, p, err
}

// completeDryRun sets DryRun from the --dry-run flag of cmd; without cmd
// (a test) or without the flag, DryRun is left as it is.
func (f fixFlags) completeDryRun(cmd *cobra.Command) {
	if f.DryRun == nil || cmd == nil || cmd.Flags().Lookup("dry-run") == nil {
		return
	}
	strategy, err := cmdutil.GetDryRunStrategy(cmd)
	if err != nil {
		*f.DryRun = cmdutil.GetFlagString(cmd, "dry-run")
		return
	}
	*f.DryRun = dryRunName(strategy)
}

// dryRunName is the --dry-run value of a kubectl dry-run strategy.
func dryRunName(s cmdutil.DryRunStrategy) string {
	switch s {
	case cmdutil.DryRunServer:
		return "server"
	case cmdutil.DryRunClient:
		return "client"
	}
	return "none"
}

// Validate checks the offered flags' values: a known --dry-run, a
// non-empty --field-manager, a positive --timeout, --set entries naming
// known rules and parameters, and the selection Complete made (rules
// that exist). It returns the first error, naming its flag.
func (f fixFlags) Validate(sel rules.Selection) error {
	if f.DryRun != nil {
		switch *f.DryRun {
		case "none", "server", "client":
		default:
			return fmt.Errorf(`--dry-run must be "none", "server" or "client", got %q`, *f.DryRun)
		}
	}
	if f.FieldManager != nil && *f.FieldManager == "" {
		return fmt.Errorf("--field-manager must not be empty")
	}
	if f.Timeout != nil && *f.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	if f.Set != nil {
		if err := validateSet(*f.Set); err != nil {
			return err
		}
	}
	if f.Fix == nil {
		return nil
	}
	return rules.ValidateSelection(sel)
}

// selection reads --fix, --skip and --set into a rules.Selection; its
// error names the malformed --set entry.
func (f fixFlags) selection() (rules.Selection, error) {
	var fix, skip, set []string
	for _, p := range []struct{ to, from *[]string }{{&fix, f.Fix}, {&skip, f.Skip}, {&set, f.Set}} {
		if p.from != nil {
			*p.to = *p.from
		}
	}
	return parseSelection(fix, skip, set)
}

// fixOnly are the flags that mean something only when fixing: the audit
// refuses them without --fix rather than silently ignoring them.
var fixOnly = []string{"yes", "set", "dry-run", "field-manager", "force-conflicts", "watch", "timeout"}

// refuseWithoutFix returns an error naming the first fix-only flag set
// on cmd when --fix is not: example is a command that uses it.
func refuseWithoutFix(cmd *cobra.Command, fix []string, example string) error {
	if len(fix) > 0 || cmd == nil {
		return nil
	}
	for _, name := range fixOnly {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s only applies with --fix, e.g. %s", name, example)
		}
	}
	return nil
}

// parseSelection reads --fix, --skip and --set; its error names the
// --set entry that is not RULE.PARAM=VALUE.
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
