// Package rules defines what a hardening rule is — its metadata, the
// findings it reports and the fixes it proposes — and the registry the rule
// plugins (plugins/<id>) add themselves to. Rules read a Snapshot; they
// never call the API server.
package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// Severity orders findings; the zero value is invalid.
type Severity int

const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = []string{"", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Low || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the lower-case name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a lower-case name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads low, medium, high or critical.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && n == strings.ToLower(name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use low, medium, high or critical", name)
}

// Category groups rules in reports and the UI.
type Category string

const (
	Availability Category = "availability"
	Health       Category = "health"
	Security     Category = "security"
	Resources    Category = "resources"
	Network      Category = "network"
	Rollout      Category = "rollout"
	// PolicyFile is the policy file's own findings (an expired exemption).
	PolicyFile Category = "policy"
)

// Param is a fix parameter: set with --set <rule>.<name>=value.
type Param struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// OptOut is another tool's annotation that means "do not check this";
// harden honours it for the rule it maps to. An empty Value matches any
// value; otherwise the annotation's comma-separated value must list it.
type OptOut struct {
	Annotation string `json:"annotation"`
	Value      string `json:"value,omitempty"`
}

// Meta describes a rule; docs/rules.md is generated from it.
type Meta struct {
	ID string `json:"id"`
	// Aliases are other words that select the rule, e.g. "probes".
	Aliases     []string `json:"aliases,omitempty"`
	Title       string   `json:"title"`
	Category    Category `json:"category"`
	Severity    Severity `json:"severity"`
	Kinds       []string `json:"kinds"`
	Why         string   `json:"why"`
	Remediation string   `json:"remediation"`
	Fixable     bool     `json:"fixable"`
	Params      []Param  `json:"params,omitempty"`
	OptOuts     []OptOut `json:"optOuts,omitempty"`
	// FixOrder places this rule's fix before higher ones, so later fixes
	// see its result (a PDB needs the replicas fix first).
	FixOrder int `json:"-"`
}

// AppliesTo reports whether the rule checks workloads of this kind.
func (m Meta) AppliesTo(kind string) bool {
	for _, k := range m.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Finding is one problem a rule found.
type Finding struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Category  Category `json:"category"`
	Message   string   `json:"message"`
	Container string   `json:"container,omitempty"`
	// Field is the path of the field concerned, e.g. spec.replicas.
	Field string `json:"field,omitempty"`
	// NeedsHuman, when set, says why no automatic fix is offered and what
	// a human must do (the finding's status is needs-human). The JSON
	// key stays "manual", as published.
	NeedsHuman string `json:"manual,omitempty"`
	// OptIn, when set, says why the fix is a choice the user must make
	// knowingly (e.g. "containers web run as root (UID 0) today: …"):
	// Evaluate plans it only when the selection names the rule by ID or
	// alias, not through "all" or a category, and otherwise leaves it
	// skipped with this reason.
	OptIn string `json:"optIn,omitempty"`
}

// Params are the fix parameters given for one rule, by name.
type Params map[string]string

// Rule is one hardening practice.
type Rule interface {
	Meta() Meta
	// Check lists the findings for the snapshot's workload.
	Check(s *inspect.Snapshot) []Finding
	// Fix proposes the change that resolves a finding of this rule. It is
	// only called for findings without Manual. It returns an error when the
	// parameters are wrong or the fix would be unsafe.
	Fix(s *inspect.Snapshot, f Finding, p Params) (*Fix, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]Rule{}
	// byID and byFixOrder are the registry in order, kept by Register:
	// evaluating a workload reads them, sorting them there cost more than
	// the rules.
	byID, byFixOrder []Rule
)

// Register adds a rule; plugins call it from init. A duplicate ID panics:
// it is a programming error.
func Register(r Rule) {
	mu.Lock()
	defer mu.Unlock()
	id := r.Meta().ID
	if _, dup := registry[id]; dup {
		panic("rules: duplicate rule " + id)
	}
	registry[id] = r
	byID = append(byID, r)
	sort.Slice(byID, func(i, j int) bool { return byID[i].Meta().ID < byID[j].Meta().ID })
	byFixOrder = slices.Clone(byID)
	sort.SliceStable(byFixOrder, func(i, j int) bool { return byFixOrder[i].Meta().FixOrder < byFixOrder[j].Meta().FixOrder })
}

// All returns the registered rules sorted by ID.
func All() []Rule {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Clone(byID)
}

// inFixOrder returns the registered rules in the order their fixes apply.
func inFixOrder() []Rule {
	mu.RLock()
	defer mu.RUnlock()
	return byFixOrder
}

// Get returns the rule with this ID.
func Get(id string) (Rule, bool) {
	mu.RLock()
	defer mu.RUnlock()
	r, ok := registry[id]
	return r, ok
}

// NamespaceRule is a practice about a namespace as a whole (admission
// labels, quotas, a default-deny policy); the audit runs these.
type NamespaceRule interface {
	Meta() Meta
	Check(ns *inspect.NamespaceSnapshot) []Finding
}

var nsRegistry = map[string]NamespaceRule{}

// RegisterNamespace adds a namespace rule; plugins call it from init.
func RegisterNamespace(r NamespaceRule) {
	mu.Lock()
	defer mu.Unlock()
	id := r.Meta().ID
	if _, dup := nsRegistry[id]; dup {
		panic("rules: duplicate namespace rule " + id)
	}
	nsRegistry[id] = r
}

// NamespaceRules returns the registered namespace rules sorted by ID.
func NamespaceRules() []NamespaceRule {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]NamespaceRule, 0, len(nsRegistry))
	for _, r := range nsRegistry {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meta().ID < out[j].Meta().ID })
	return out
}
