package rules

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
)

// Status is where a finding ended up. Every finding gets exactly one.
type Status string

const (
	StatusPlanned    Status = "planned"     // a fix is in the plan
	StatusFixed      Status = "fixed"       // the fix was applied
	StatusSkipped    Status = "skipped"     // a choice not to fix: --skip, or an opt-in fix "all" or a category passed over
	StatusExempted   Status = "exempted"    // an opt-out annotation
	StatusNeedsHuman Status = "needs-human" // no safe automatic fix; Reason says why
	// StatusNotSelected is a finding whose rule --fix did not choose (by
	// ID, alias, category or "all"): nobody decided either way. Reason
	// says how to choose it. A finding whose fix would need a human
	// whatever the selection is needs-human instead.
	StatusNotSelected Status = "not-selected"
	// StatusConflict is a fix left out because another field manager owns
	// what it changes (a manifest applier, GitOps, an autoscaler): Reason
	// names the manager, the field and the ways on; Owners lists them.
	StatusConflict Status = "conflict"
)

// Result is a finding with its status and, when planned, its fix.
type Result struct {
	Finding
	// Status is planned, fixed, skipped, not-selected, exempted,
	// needs-human or conflict (the JSON and YAML reports' "status").
	Status Status `json:"status"`
	// Reason says why, for every status but planned and fixed: the
	// annotation that exempts, SkippedByFlag, an opt-in fix's risk,
	// "not selected for fixing …" with the --fix that fixes it, what a
	// human must decide, or the field manager that holds a fix back.
	Reason string `json:"reason,omitempty"`
	// Owners are the fields the fix changes that another field manager
	// owns (see package owners): taken when the fix is applied, the reason
	// it is held back when its status is conflict.
	Owners []owners.Conflict `json:"owners,omitempty"`
	// Fix is the planned or applied fix: reports show its description
	// and warnings (the changes are the plan's); absent when none.
	Fix *Fix `json:"fix,omitempty"`
}

// Selection is what the user chose: rules to fix, rules to skip, and fix
// parameters by rule ID.
type Selection struct {
	Fix    []string
	Skip   []string
	Params map[string]Params
	// Force lists the rules (IDs, aliases, categories or "all") whose
	// fixes take fields other managers own: --force-conflicts is "all".
	Force []string
	// Hold maps the findings (by HoldKey) whose fixes must not be planned
	// to why (their fields belong to another manager): they end with
	// StatusConflict, and the fixes after them are planned without them.
	// Other findings of the same rule (another container, another field)
	// are still planned.
	Hold map[string]Held
	// Policy is the policy file's say (rules off, severities,
	// exemptions, parameter defaults under Params); nil for none.
	Policy Policy
}

// Held is why a chosen fix is held back: the reason, and the fields
// another manager owns.
type Held struct {
	Reason string
	Owners []owners.Conflict
}

// Names reports whether the selection's fix list names the rule itself,
// by ID or alias: "all", "*" and categories do not. A finding with OptIn
// is planned only then.
func (sel Selection) Names(m Meta) bool { return slices.ContainsFunc(sel.Fix, m.Names) }

// OptInReason is the reason of an opt-in finding left unplanned: why it
// must be named, and how, e.g. "containers web run as root (UID 0) today:
// …; name it to apply: --fix=run-as-non-root".
func OptInReason(f Finding, m Meta) string {
	return f.OptIn + "; name it to apply: --fix=" + m.ID
}

// HoldKey names one finding for Selection.Hold: its rule, container and
// field.
func HoldKey(f Finding) string { return f.Rule + "\x00" + f.Container + "\x00" + f.Field }

// Forces reports whether the selection takes the fields of rule id from
// their other owners.
func Forces(sel Selection, id string) bool {
	r, ok := Get(id)
	return ok && r.Meta().SelectedBy(sel.Force)
}

// Chooses reports whether the selection asks to fix the rule.
func (sel Selection) Chooses(m Meta) bool {
	return m.SelectedBy(sel.Fix) && !m.SelectedBy(sel.Skip)
}

// NeedsHumanError is returned by Fix when no safe automatic fix exists for
// this workload as it is: the finding's status becomes needs-human
// (StatusNeedsHuman) with Reason as its reason.
type NeedsHumanError struct{ Reason string }

func (e *NeedsHumanError) Error() string { return e.Reason }

// NeedsHumanf returns a NeedsHumanError whose reason is formatted as
// fmt.Sprintf does, e.g. NeedsHumanf("set --set %s.port=NAME", id).
func NeedsHumanf(format string, a ...any) error {
	return &NeedsHumanError{Reason: fmt.Sprintf(format, a...)}
}

// SkippedByFlag is the reason of a finding whose rule --skip left out.
const SkippedByFlag = "skipped by --skip"

// NotSelected is the start of every not-selected finding's reason.
const NotSelected = "not selected for fixing"

// Evaluate runs every rule that applies to the workload and settles each
// finding's status. Fixes run in FixOrder on a projected snapshot, so each
// sees what the fixes before it will change.
//
// A finding the selection leaves out is judged too, so that whether it
// needs a human never depends on what was chosen: its fix is tried on the
// snapshot the chosen fixes project ("alone": what naming its rule too
// would do) and on the one every fix --fix=all (plus the rules named)
// would plan projects ("with all"). It needs a human only when both
// attempts do; otherwise it is not-selected, and the reason says when
// its rule alone is not enough. capabilities is the case in point: it
// drops ALL only from a container that runs non-root after the plan, so
// with run-as-non-root unchosen it would need a human alone, yet
// --fix=all (which plans run-as-non-root unless that one is opt-in)
// fixes it. Calling it needs-human would be false (no human is needed,
// only a wider --fix), so it stays not-selected, naming the way.
//
// The selection's Policy (a policy file) leaves out the rules it turns off
// (never evaluated), gives findings its severities, exempts after the
// annotations do, gives fix parameters under Params, and adds a finding
// per expired exemption that matches the workload.
func Evaluate(s *inspect.Snapshot, sel Selection) ([]Result, error) {
	checked := map[string][]Finding{}
	results, alone, err := evaluate(s, sel, checked, nil)
	if err != nil {
		return nil, err
	}
	// The pass with --fix=all only decides findings whose fix alone would
	// need a human (settle): without one, it is not run.
	withAll, err := withAllWhenNeeded(s, sel, checked, results, alone)
	if err != nil {
		return nil, err
	}
	for i := range results {
		if results[i].Status == StatusNotSelected {
			// A rule the pass left out: its fix alone is its fix with all.
			all := Result{Status: StatusNeedsHuman, Reason: alone[i]}
			if withAll != nil && withAll[i].Status != "" {
				all = withAll[i]
			}
			results[i].Status, results[i].Reason = settle(results[i].Finding, alone[i], all)
		}
	}
	if sel.Policy != nil {
		results = append(results, sel.Policy.Expired(TargetOf(s))...)
	}
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].Severity != results[j].Severity {
			return results[i].Severity > results[j].Severity
		}
		return results[i].Rule < results[j].Rule
	})
	return results, nil
}

// withAllWhenNeeded evaluates the snapshot under the selection with "all"
// added (withAll), for settle: only when a not-selected finding's fix
// alone needs a human and its rule names FixableAfter rules, and then only
// those findings' rules and the rules they name (transitively); else nil.
// The other results of the pass have no Status (not evaluated). An error
// when the rules report other findings the second time.
func withAllWhenNeeded(s *inspect.Snapshot, sel Selection, checked map[string][]Finding, results []Result, alone []string) ([]Result, error) {
	needed, only := false, map[string]bool{}
	for i, r := range results {
		if r.Status == StatusNotSelected && alone[i] != "" {
			needed = true
			addFixableAfter(only, r.Rule)
		}
	}
	switch {
	case exhaustive && needed:
		only = nil
	case len(only) == 0:
		return nil, nil
	}
	withAll, _, err := evaluate(s, sel.withAll(), checked, only)
	if err != nil {
		return nil, err
	}
	if len(withAll) != len(results) {
		return nil, fmt.Errorf("rules reported %d findings, then %d on the same snapshot", len(results), len(withAll))
	}
	return withAll, nil
}

// exhaustive makes the --fix=all pass evaluate every rule whenever any
// not-selected finding alone needs a human, as it did before
// FixableAfter: the reference the fixture test compares with.
var exhaustive = false

// addFixableAfter adds the rule id to only when it names FixableAfter
// rules, with the rules it names and those they name.
func addFixableAfter(only map[string]bool, id string) {
	if r, ok := Get(id); ok && len(r.Meta().FixableAfter) > 0 {
		addWithFixableAfter(only, id)
	}
}

func addWithFixableAfter(only map[string]bool, id string) {
	if only[id] {
		return
	}
	only[id] = true
	if r, ok := Get(id); ok {
		for _, dep := range r.Meta().FixableAfter {
			addWithFixableAfter(only, dep)
		}
	}
}

// withAll is the selection with "all" added to its fix list: what
// --fix=all plans, plus the opt-in rules it names, minus what it skips.
func (sel Selection) withAll() Selection {
	sel.Fix = append(slices.Clone(sel.Fix), "all")
	return sel
}

// settle is the status and reason of a not-selected finding, from its
// fix's verdict alone (human: why it would need a human, "" when
// fixable) and its result under the selection with "all" added.
func settle(f Finding, human string, withAll Result) (Status, string) {
	m := Meta{ID: f.Rule}
	if r, ok := Get(f.Rule); ok {
		m = r.Meta()
	}
	fixableWithAll := withAll.Status != StatusNeedsHuman
	switch {
	case human == "" && f.OptIn != "":
		return StatusNotSelected, NotSelected + ": " + OptInReason(f, m)
	case human == "":
		return StatusNotSelected, NotSelected + " (--fix=" + m.ID + ")"
	case !fixableWithAll:
		return StatusNeedsHuman, withAll.Reason
	case f.OptIn != "":
		return StatusNotSelected, NotSelected + ": " + OptInReason(f, m) + ", with --fix=all (alone it needs a human: " + human + ")"
	}
	return StatusNotSelected, NotSelected + ": --fix=all fixes it; --fix=" + m.ID + " alone needs a human: " + human
}

// evaluate settles each finding under the selection, in fix order. A
// not-selected finding keeps StatusNotSelected with no reason (Evaluate
// settles it); alone[i] is then why its fix, tried on the projected
// snapshot, needs a human, or "" when it would be planned. checked holds
// each rule's findings on s by ID: filled by the first pass, read by the
// next (the live snapshot is the same, only the selection differs).
// only, when not nil, names the rules evaluated: the others' findings get
// a Result with no Status, so that results stay in step with the first
// pass's.
func evaluate(s *inspect.Snapshot, sel Selection, checked map[string][]Finding, only map[string]bool) (results []Result, alone []string, err error) {
	projected := s
	// Room for a typical workload's findings (about 16): growing a slice
	// of Results by doubling was a tenth of the audit's allocations.
	results, alone = make([]Result, 0, 24), make([]string, 0, 24)
	for _, r := range inFixOrder() {
		m := r.Meta()
		if !m.AppliesTo(s.Workload.Kind()) {
			continue
		}
		if !sel.Active(m.ID) {
			continue
		}
		findings, ok := checked[m.ID]
		if !ok {
			findings = Check(r, s)
			checked[m.ID] = findings
		}
		if only != nil && !only[m.ID] {
			for _, f := range findings {
				results, alone = append(results, Result{Finding: f}), append(alone, "")
			}
			continue
		}
		exemptBy, exempt := sel.exempted(s, m)
		for _, f := range findings {
			f = sel.Graded(f)
			res, human := Result{Finding: f}, ""
			switch {
			case exempt:
				res.Status, res.Reason = StatusExempted, exemptBy
			case m.SelectedBy(sel.Skip):
				res.Status, res.Reason = StatusSkipped, SkippedByFlag
			case f.NeedsHuman != "":
				res.Status, res.Reason = StatusNeedsHuman, f.NeedsHuman
			case !m.SelectedBy(sel.Fix):
				res.Status = StatusNotSelected
				if _, human, err = verdict(r, projected, s, f, sel.ParamsOf(m.ID)); err != nil {
					return nil, nil, err
				}
			case f.OptIn != "" && !sel.Names(m):
				// Passed over on purpose; but a fix that would need a
				// human even when named is needs-human, not a choice.
				res.Status, res.Reason = StatusSkipped, OptInReason(f, m)
				if _, why, err := verdict(r, projected, s, f, sel.ParamsOf(m.ID)); err != nil {
					return nil, nil, err
				} else if why != "" {
					res.Status, res.Reason = StatusNeedsHuman, why
				}
			case sel.Hold[HoldKey(f)].Reason != "":
				h := sel.Hold[HoldKey(f)]
				res.Status, res.Reason, res.Owners = StatusConflict, h.Reason, h.Owners
			default:
				fix, why, err := verdict(r, projected, s, f, sel.ParamsOf(m.ID))
				switch {
				case err != nil:
					return nil, nil, err
				case why != "":
					res.Status, res.Reason = StatusNeedsHuman, why
				default:
					if projected, err = Project(projected, fix); err != nil {
						return nil, nil, fmt.Errorf("%s: %w", m.ID, err)
					}
					res.Status, res.Fix = StatusPlanned, fix
				}
			}
			results = append(results, res)
			alone = append(alone, human)
		}
	}
	return results, alone, nil
}

// verdict tries the rule's fix on the projected snapshot (s is the live
// one, for the Job template check): the fix, or why it needs a human
// ("no automatic fix" for a fix that changes nothing). The projection is
// left to the caller. An error is a rule's failure, prefixed by its ID.
func verdict(r Rule, projected, s *inspect.Snapshot, f Finding, p Params) (*Fix, string, error) {
	fix, err := r.Fix(projected, f, p)
	var human *NeedsHumanError
	switch {
	case errors.As(err, &human):
		return nil, human.Reason, nil
	case err != nil:
		return nil, "", fmt.Errorf("%s: %w", r.Meta().ID, err)
	case fix == nil || len(fix.Changes) == 0:
		return nil, "no automatic fix", nil
	case ImmutableTemplate(s.Workload, fix) != "":
		return nil, ImmutableTemplate(s.Workload, fix), nil
	}
	return fix, "", nil
}

// ImmutableTemplate says why a fix cannot be applied to a live Job — it
// changes the Job's pod template (spec.template), which the API server
// refuses to change once the Job exists — and where to fix it instead: the
// CronJob that owns the Job, else the manifest it is created from. It
// returns "" for every other fix and kind; the Job's own fields
// (activeDeadlineSeconds, backoffLimit, ttlSecondsAfterFinished,
// parallelism…) stay fixable.
func ImmutableTemplate(w *inspect.Workload, fix *Fix) string {
	if w.Job == nil || fix == nil {
		return ""
	}
	for _, c := range fix.Changes {
		if c.Create || !sameObject(c.Object, w) {
			continue
		}
		spec, _ := c.Object["spec"].(map[string]any)
		if _, ok := spec["template"]; !ok {
			continue
		}
		where := "fix the manifest it is created from"
		if cj := w.CronJobOwner(); cj != "" {
			where = "fix cronjob/" + cj + " instead"
		}
		return "a live Job's pod template (spec.template) is immutable: " + where
	}
	return ""
}

// sameObject reports whether a partial object names the workload.
func sameObject(obj map[string]any, w *inspect.Workload) bool {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	return obj["kind"] == w.Kind() && meta["name"] == w.Name() && (ns == "" || ns == w.Namespace())
}

// Pending reports whether the finding counts against the score: neither
// fixed nor exempted.
func (r Result) Pending() bool { return r.Status != StatusFixed && r.Status != StatusExempted }

// Pending reports whether any finding is left that is neither fixed nor
// exempted: the exit code 1 of kubectl diff's convention.
func Pending(results []Result) bool { return slices.ContainsFunc(results, Result.Pending) }

// Weights of each severity in the 0–100 score.
var Weights = map[Severity]int{Critical: 30, High: 15, Medium: 7, Low: 3}

// Penalty is the sum of the weights of the findings neither fixed nor
// exempted.
func Penalty(results []Result) int {
	p := 0
	for _, r := range results {
		if r.Pending() {
			p += Weights[r.Severity]
		}
	}
	return p
}

// ScoreOf turns a penalty into a 0–100 score: 100·100/(100+penalty),
// rounded. 100 with nothing pending; one critical finding gives 77, a
// penalty of 100 gives 50; it nears 0 but keeps ranking the worst.
func ScoreOf(penalty int) int { return (100*100 + (100+penalty)/2) / (100 + penalty) }

// Score is the workload's 0–100 score.
func Score(results []Result) int { return ScoreOf(Penalty(results)) }

// ValidateSelection checks that every word names a rule and every
// parameter is one the rule declares.
func ValidateSelection(sel Selection) error {
	known := func(w string) bool {
		if w == "all" || w == "*" {
			return true
		}
		for _, r := range All() {
			if r.Meta().Selects(w) {
				return true
			}
		}
		return false
	}
	for _, w := range append(append([]string{}, sel.Fix...), sel.Skip...) {
		if !known(w) {
			return fmt.Errorf("unknown rule %q (see kubectl harden rules)", w)
		}
	}
	for id, ps := range sel.Params {
		r, ok := Get(id)
		if !ok {
			return fmt.Errorf("--set %s.…: unknown rule %q (see kubectl harden rules)", id, id)
		}
		for name := range ps {
			found := false
			var names []string
			for _, p := range r.Meta().Params {
				names = append(names, p.Name)
				found = found || p.Name == name
			}
			if !found {
				return fmt.Errorf("--set %s.%s: rule %s has no parameter %q (it has: %s)", id, name, id, name, strings.Join(names, ", "))
			}
		}
	}
	return nil
}
