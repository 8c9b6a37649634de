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
	// CompanionSuffix is, for a rule whose fix creates an object named
	// after the workload, what CompanionName appends while that name is
	// taken, e.g. "-pdb"; NameStem strips it.
	CompanionSuffix string `json:"-"`
	// FixableAfter names the rules whose fixes, planned before this one's
	// (FixOrder), can make this rule's fix possible where it alone needs
	// a human: capabilities drops ALL only from a container that
	// run-as-non-root leaves non-root; pdb needs replicas' second replica.
	// Evaluate's --fix=all pass, which tells "needs a human" from "not
	// selected: --fix=all fixes it", runs only for findings of rules that
	// name some (with those rules); any other rule's verdict alone is its
	// verdict with all. A test over every fixture checks the claim.
	FixableAfter []string `json:"-"`
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

// Finding is one problem a rule found. Rule, Severity and Category are
// filled from the rule's Meta when the rule leaves them unset (Check).
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

// Rule is one hardening practice: a plugin under plugins/<ID without
// dashes> implements it and registers it from init (Register). Its whole
// contract:
//
//   - Meta is constant: the same value on every call. ID is kebab-case and
//     stable (--fix, --skip, annotations, reports and docs/rules.md use
//     it); Kinds lists the workload kinds Check is called for (Evaluate
//     skips the others); Params names every fix parameter Fix reads, with
//     its default and where the default comes from in Description (--set
//     <id>.<name>=value and a policy file give them; ValidateSelection
//     refuses any other name); Fixable says whether Fix can ever return a
//     change; Why and Remediation are docs/rules.md's text (make docs).
//   - Check is pure: it reads only the Snapshot (never the API server,
//     the clock or the environment), changes nothing in it, and returns
//     the same findings in the same order for the same snapshot — none
//     when the workload is fine. Each finding carries a Message in
//     Kubernetes' terms, saying what is wrong and what it risks, and,
//     when it is about one container or field, Container and Field (the
//     path inside the container or the pod spec, e.g.
//     "securityContext.runAsNonRoot"). Rule, Severity and Category may be
//     left unset: evaluation (Check, the function) fills them from Meta;
//     set Severity only where one finding is graver or milder than the
//     rule. NeedsHuman, set by Check, says that no automatic fix exists
//     whatever the parameters, and what to do (a concrete command or
//     field); OptIn says why the fix must be named to be planned.
//   - Fix is called only for this rule's findings without NeedsHuman, on
//     the snapshot as the fixes before it in FixOrder leave it; it is pure
//     like Check. It returns the Fix (a Description naming the source of
//     each number, the Changes — partial objects holding only the fields
//     the fix owns — and Warnings), or NeedsHumanf("…") when no safe fix
//     exists for this workload as it is (an ambiguous port, evidence the
//     snapshot lacks, a guess that could break the app): the finding then
//     needs a human, with that reason. Any other error is a bad parameter
//     or a bug and stops the run. A Fix without changes counts as "no
//     automatic fix". On the fixed workload Check must find nothing but
//     needs-human findings: harden is idempotent, and rulestest.Run
//     checks it on the plugin's testdata.
type Rule interface {
	Meta() Meta
	// Check lists the findings for the snapshot's workload.
	Check(s *inspect.Snapshot) []Finding
	// Fix proposes the change that resolves one finding of this rule, or
	// returns a NeedsHumanError (NeedsHumanf) when no safe automatic fix
	// exists for this workload.
	Fix(s *inspect.Snapshot, f Finding, p Params) (*Fix, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]Rule{}
	// byID and byFixOrder are the registry in order, kept by Register:
	// evaluating a workload reads them, sorting them there cost more than
	// the rules. byID holds the rules as plugins registered them;
	// byFixOrder and registry hold them withMeta.
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
	cached := withMeta{r, r.Meta()}
	registry[id] = cached
	byID = append(byID, r)
	sort.Slice(byID, func(i, j int) bool { return byID[i].Meta().ID < byID[j].Meta().ID })
	byFixOrder = append(byFixOrder, cached)
	// By fix order, then ID.
	sort.Slice(byFixOrder, func(i, j int) bool {
		a, b := byFixOrder[i].Meta(), byFixOrder[j].Meta()
		return a.FixOrder < b.FixOrder || a.FixOrder == b.FixOrder && a.ID < b.ID
	})
}

// withMeta is a registered rule with its Meta built once: evaluating a
// workload asks for it dozens of times, and a Meta of many fields and
// slices cost more than some checks.
type withMeta struct {
	Rule
	meta Meta
}

func (r withMeta) Meta() Meta { return r.meta }

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
// labels, quotas, a default-deny policy); the audit runs these, through
// CheckNamespace. Meta and Check keep Rule's contract; there is no Fix:
// every finding needs a human, so each sets NeedsHuman.
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
