package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// configFlag is the root's persistent --config: every subcommand reads it
// through the command it runs (cmd.Flag finds a parent's persistent flag).
const configFlag = "config"

// addConfigFlag registers --config on the root command.
func addConfigFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String(configFlag, "", "Policy file (default: the nearest "+policy.FileName+" from the working directory up to the git repository's root); --config= uses none")
	_ = cmd.MarkPersistentFlagFilename(configFlag, "yaml", "yml")
}

// loadPolicy is the run's policy: the file --config names, none for an
// empty --config=, else the one policy.Discover finds from the working
// directory; nil when there is none. A file that does not decode is an
// error: a policy is never ignored silently.
func loadPolicy(cmd *cobra.Command) (*policy.Policy, error) {
	path := ""
	if f := cmd.Flag(configFlag); f != nil && f.Changed {
		if f.Value.String() == "" {
			return nil, nil
		}
		path = f.Value.String()
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if path, err = policy.Discover(wd); err != nil || path == "" {
			return nil, err
		}
	}
	return policy.Load(path)
}

// withPolicy puts the policy in the selection: its rules off, severities,
// exemptions and parameter defaults (sel.Policy, which internal/rules reads),
// and the defaults in sel.Params too, under the --set values, which win,
// so that the terminal UI's parameter form starts from them. A nil policy
// leaves sel as it is.
func withPolicy(sel rules.Selection, p *policy.Policy) rules.Selection {
	if p == nil {
		return sel
	}
	sel.Policy = policyOf(p)
	params := map[string]rules.Params{}
	for id, ps := range p.Params() {
		params[id] = ps
	}
	for id, ps := range sel.Params {
		if params[id] == nil {
			params[id] = rules.Params{}
		}
		for k, v := range ps {
			params[id][k] = v
		}
	}
	sel.Params = params
	return sel
}

// selectionWithPolicy is withPolicy for a command line's selection; a
// --fix naming a rule the policy turns off is refused rather than left to
// plan nothing: "--fix=rollout: rule rollout is off in policy FILE
// (rules.rollout.enabled: false); --config= runs without the policy".
func selectionWithPolicy(sel rules.Selection, p *policy.Policy) (rules.Selection, error) {
	if p == nil {
		return sel, nil
	}
	for _, w := range sel.Fix {
		if r, ok := rules.Get(w); ok && p.Disabled(r.Meta().ID) {
			return sel, fmt.Errorf("--fix=%s: rule %s is off in %s (rules.%s.enabled: false); --config= runs without the policy", w, w, p.Source(), w)
		}
	}
	return withPolicy(sel, p), nil
}

// policyRef is what the outputs name: nil without a policy file.
func policyRef(p *policy.Policy) *policy.Ref {
	if p == nil {
		return nil
	}
	ref := p.Ref
	return &ref
}

// policyLine is the text outputs' line naming the policy file: "policy:
// PATH (sha256 1f2e3d4c5b6a)"; "" without one.
func policyLine(p *policy.Policy) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("policy: %s (sha256 %.12s)", p.Ref.Path, p.Ref.SHA256)
}

// policyName is the policy file's base name for the terminal UI's header.
func policyName(p *policy.Policy) string {
	if p == nil {
		return ""
	}
	return filepath.Base(p.Ref.Path)
}

// effectiveRule is one rule under the policy, for kubectl harden rules
// --config FILE.
type effectiveRule struct {
	ID       string           `json:"id"`
	Enabled  bool             `json:"enabled"`
	Severity rules.Severity   `json:"severity"`
	Source   string           `json:"severitySource"` // default or policy
	Params   []effectiveParam `json:"params,omitempty"`
}

// effectiveParam is a fix parameter's value and where it comes from:
// "default" (the rule derives it from live data; Value empty), "policy"
// or "--set".
type effectiveParam struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Source string `json:"source"`
}

// effectivePolicy lists every rule as the policy and the --set values
// leave it.
func effectivePolicy(metas []rules.Meta, p *policy.Policy, set map[string]rules.Params) []effectiveRule {
	var out []effectiveRule
	fromPolicy := p.Params()
	for _, m := range metas {
		e := effectiveRule{ID: m.ID, Enabled: !p.Disabled(m.ID), Severity: m.Severity, Source: "default"}
		if sev, ok := p.Severity(m.ID); ok {
			e.Severity, e.Source = sev, "policy"
		}
		for _, pm := range m.Params {
			ep := effectiveParam{Name: pm.Name, Source: "default"}
			if v, ok := fromPolicy[m.ID][pm.Name]; ok {
				ep.Value, ep.Source = v, "policy"
			}
			if v, ok := set[m.ID][pm.Name]; ok {
				ep.Value, ep.Source = v, "--set"
			}
			e.Params = append(e.Params, ep)
		}
		out = append(out, e)
	}
	return out
}

// writeEffectivePolicy prints the effective policy as a table: one line
// per rule, then one per parameter given by the policy or --set, then the
// exemptions.
func writeEffectivePolicy(w io.Writer, p *policy.Policy, eff []effectiveRule) error {
	if line := policyLine(p); line != "" {
		fmt.Fprintln(w, line)
	} else {
		fmt.Fprintln(w, "policy: none (no "+policy.FileName+" found, or --config=)")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tENABLED\tSEVERITY\tSOURCE\tPARAMS")
	for _, e := range eff {
		var set []string
		for _, pm := range e.Params {
			if pm.Source != "default" {
				set = append(set, fmt.Sprintf("%s=%s (%s)", pm.Name, pm.Value, pm.Source))
			}
		}
		params := orDash(joinComma(set))
		enabled := "yes"
		if !e.Enabled {
			enabled = "no (policy)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, enabled, e.Severity, e.Source, params)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p == nil || len(p.Exemptions) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nexemptions:")
	for i, e := range p.Exemptions {
		state := "in force"
		if e.Expires != "" {
			state = "until " + e.Expires
			if p.Lapsed(i) {
				state = "EXPIRED on " + e.Expires
			}
		}
		var where []string
		if len(e.Namespaces) > 0 {
			where = append(where, fmt.Sprintf("namespaces %v", e.Namespaces))
		}
		if e.Selector != "" {
			where = append(where, "selector "+e.Selector)
		}
		if len(e.Workloads) > 0 {
			where = append(where, fmt.Sprintf("workloads %v", e.Workloads))
		}
		fmt.Fprintf(w, "  [%d] %v on %s: %s (%s)\n", i, e.Rules, joinComma(where), e.Reason, state)
	}
	return nil
}

func joinComma(parts []string) string { return strings.Join(parts, ", ") }

// policyOf is the policy as internal/rules sees it: a nil interface, not a
// typed nil, without one.
func policyOf(p *policy.Policy) rules.Policy {
	if p == nil {
		return nil
	}
	return p
}
