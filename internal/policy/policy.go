// Package policy reads the policy file, .harden.yaml: which rules run, at
// which severity, the fix parameters' defaults and the exemptions (by
// namespace, label selector or workload, each with a reason and an optional
// expiry date). It finds the file (Discover), decodes it strictly (Load,
// Parse) and answers internal/rules' questions (it implements rules.Policy). It
// never talks to the API server.
package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// APIVersion and Kind identify a policy file.
const (
	APIVersion = "harden.kubectl.dev/v1alpha1"
	Kind       = "Policy"
	// FileName is the name Discover looks for.
	FileName = ".harden.yaml"
	// ExpiredRule is the rule ID of the finding an expired exemption
	// yields on each workload (or namespace) it used to exempt.
	ExpiredRule = "policy-exemption-expired"
)

// Policy is a decoded policy file.
type Policy struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
	// Rules are settings by rule ID (aliases and categories are not
	// accepted here: one rule, one entry).
	Rules map[string]RuleSettings `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Exemptions are checked in order; the first that applies wins.
	Exemptions []Exemption `yaml:"exemptions,omitempty" json:"exemptions,omitempty"`

	// Ref is where the policy was read from (set by Load).
	Ref Ref `yaml:"-" json:"-"`
	// Now is the clock expiry dates are compared with; time.Now when nil.
	Now func() time.Time `yaml:"-" json:"-"`

	selectors []labels.Selector // parsed Exemptions[i].Selector, same index
}

// Ref names the policy file a run used, for every output: its path (as
// given or found, made absolute) and the sha256 of its bytes, hex.
type Ref struct {
	Path   string `json:"path" yaml:"path"`
	SHA256 string `json:"sha256,omitempty" yaml:"sha256,omitempty"`
}

// RuleSettings are one rule's settings.
type RuleSettings struct {
	// Enabled false turns the rule off: it is not evaluated at all.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Severity overrides the rule's severity on every finding: low,
	// medium, high or critical.
	Severity string `yaml:"severity,omitempty" json:"severity,omitempty"`
	// Params are fix parameter defaults, by the names of --set
	// RULE.PARAM; a --set on the command line wins.
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
}

// Exemption exempts the workloads it matches from some rules. Every
// criterion given must match (namespaces AND selector AND workloads); at
// least one is required.
type Exemption struct {
	// Rules are rule IDs, aliases, categories or "all".
	Rules []string `yaml:"rules" json:"rules"`
	// Namespaces are namespace names or path.Match globs ("team-*").
	Namespaces []string `yaml:"namespaces,omitempty" json:"namespaces,omitempty"`
	// Selector is a label selector on the workload's own labels, in
	// kubectl's syntax ("app=legacy,tier!=web").
	Selector string `yaml:"selector,omitempty" json:"selector,omitempty"`
	// Workloads are KIND/NAME or NAMESPACE/KIND/NAME, each part a glob;
	// KIND is the lower-case kind (deployment, statefulset, daemonset,
	// job, cronjob).
	Workloads []string `yaml:"workloads,omitempty" json:"workloads,omitempty"`
	// Reason is mandatory: it becomes the exempted finding's reason.
	Reason string `yaml:"reason" json:"reason"`
	// Expires is a date, YYYY-MM-DD: the exemption applies before that
	// day (UTC) and is expired from its first instant on.
	Expires string `yaml:"expires,omitempty" json:"expires,omitempty"`

	expires time.Time
}

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Source names the file in reasons: "policy FILE".
func (p *Policy) Source() string { return "policy " + p.Ref.Path }

// Disabled reports whether the policy turns rule id off.
func (p *Policy) Disabled(id string) bool {
	if p == nil {
		return false
	}
	s, ok := p.Rules[id]
	return ok && s.Enabled != nil && !*s.Enabled
}

// Severity is the policy's severity for rule id, if it overrides it.
func (p *Policy) Severity(id string) (rules.Severity, bool) {
	if p == nil || p.Rules[id].Severity == "" {
		return 0, false
	}
	sev, err := rules.ParseSeverity(p.Rules[id].Severity)
	return sev, err == nil
}

// Params are the policy's fix parameter defaults, by rule ID then name.
func (p *Policy) Params() map[string]rules.Params {
	out := map[string]rules.Params{}
	if p == nil {
		return out
	}
	for id, s := range p.Rules {
		for k, v := range s.Params {
			if out[id] == nil {
				out[id] = rules.Params{}
			}
			out[id][k] = v
		}
	}
	return out
}

// Exempts reports whether an exemption in force exempts the target from
// the rule, with the reason "policy FILE: REASON" (and its expiry).
func (p *Policy) Exempts(t rules.Target, m rules.Meta) (string, bool) {
	if p == nil {
		return "", false
	}
	for i, e := range p.Exemptions {
		if p.Lapsed(i) {
			continue
		}
		if p.matches(i, t) && m.SelectedBy(e.Rules) {
			reason := p.Source() + ": " + e.Reason
			if e.Expires != "" {
				reason += " (until " + e.Expires + ")"
			}
			return reason, true
		}
	}
	return "", false
}

// Lapsed reports whether exemption i has expired.
func (p *Policy) Lapsed(i int) bool {
	e := p.Exemptions[i]
	return !e.expires.IsZero() && !p.now().Before(e.expires)
}

// Expired lists one finding per expired exemption that matches the
// target: the exemption no longer applies, and someone must renew or
// remove it. Severity low: the findings it used to hide are back and
// count on their own.
func (p *Policy) Expired(t rules.Target) []rules.Result {
	if p == nil {
		return nil
	}
	var out []rules.Result
	for i, e := range p.Exemptions {
		if !p.Lapsed(i) || !p.matches(i, t) {
			continue
		}
		msg := fmt.Sprintf("the exemption from %s (%s) expired on %s: its findings count again", strings.Join(e.Rules, ","), e.Reason, e.Expires)
		f := rules.Finding{Rule: ExpiredRule, Severity: rules.Low, Category: rules.PolicyFile, Message: msg,
			NeedsHuman: fmt.Sprintf("renew its expires date or remove it: %s, exemptions[%d]", p.Ref.Path, i)}
		out = append(out, rules.Result{Finding: f, Status: rules.StatusNeedsHuman, Reason: f.NeedsHuman})
	}
	return out
}

// matches reports whether exemption i's criteria all hold for the target.
// A namespace target (Kind "") matches only exemptions by namespace alone.
func (p *Policy) matches(i int, t rules.Target) bool {
	e := p.Exemptions[i]
	if t.Kind == "" && (e.Selector != "" || len(e.Workloads) > 0) {
		return false
	}
	if len(e.Namespaces) > 0 && !slices.ContainsFunc(e.Namespaces, func(g string) bool { return glob(g, t.Namespace) }) {
		return false
	}
	if e.Selector != "" && (i >= len(p.selectors) || !p.selectors[i].Matches(labels.Set(t.Labels))) {
		return false
	}
	if len(e.Workloads) > 0 && !slices.ContainsFunc(e.Workloads, func(w string) bool { return workloadMatches(w, t) }) {
		return false
	}
	return true
}

// workloadMatches reads KIND/NAME or NAMESPACE/KIND/NAME (globs).
func workloadMatches(pattern string, t rules.Target) bool {
	parts := strings.Split(pattern, "/")
	if len(parts) == 3 {
		if !glob(parts[0], t.Namespace) {
			return false
		}
		parts = parts[1:]
	}
	return len(parts) == 2 && glob(strings.ToLower(parts[0]), strings.ToLower(t.Kind)) && glob(parts[1], t.Name)
}

func glob(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}
