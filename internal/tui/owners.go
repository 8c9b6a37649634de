package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// ownership is who else owns the fields a fix changes, and what the plan
// does about it: take them (one-off edits, or forced by the user) or hold
// the fix back.
type ownership struct {
	owners []owners.Conflict
	held   bool   // the plan leaves the fix out (status conflict)
	forced bool   // the user takes the fields anyway
	reason string // the engine's reason, when held
}

// cliWays starts the command line's ways on in a held fix's reason; the
// screen names its own keys instead.
const cliWays = "; --force-conflicts takes it live"

// why is the held fix's reason with this screen's ways on.
func (o ownership) why() string {
	r := o.reason
	if i := strings.Index(r, cliWays); i >= 0 {
		r = r[:i]
	}
	return r + "; f takes it anyway, w writes a kustomize overlay"
}

// managers are the distinct managers, those the plan does not take
// from first.
func (o ownership) managers() []string {
	var out []string
	seen := map[string]bool{}
	for _, pass := range []bool{false, true} {
		for _, c := range o.owners {
			if c.Class.Takes() == pass && !seen[c.Manager] {
				seen[c.Manager] = true
				out = append(out, c.Manager)
			}
		}
	}
	return out
}

// badge is the short owner tag of the findings list, e.g. "⚑ kubectl apply
// +1"; managed names the GitOps tool that holds a fix with no field owner.
func (o ownership) badge(managed string) string {
	names := o.managers()
	if len(names) == 0 {
		if !o.held && !o.forced || managed == "" {
			return ""
		}
		names = []string{managed}
	}
	b := "⚑ " + shortManager(termsafe.String(names[0]))
	if len(names) > 1 {
		b += fmt.Sprintf(" +%d", len(names)-1)
	}
	if o.forced {
		b += ", forced"
	}
	return b
}

// shortManager fits a field manager's name in the list: kubectl's own
// managers read as the command that wrote them.
func shortManager(m string) string {
	switch {
	case m == "kubectl-client-side-apply" || m == "kubectl":
		m = "kubectl apply"
	case strings.HasPrefix(m, "kubectl-"):
		m = "kubectl " + strings.TrimPrefix(m, "kubectl-")
	}
	if r := []rune(m); len(r) > 20 {
		m = string(r[:19]) + "…"
	}
	return m
}

// owned says, field by field and grouped by manager, who owns what:
// ".spec.replicas is owned by kubectl-client-side-apply (a manifest
// applier: …)".
func owned(cs []owners.Conflict) string {
	var order []string
	fields := map[string][]string{}
	class := map[string]owners.Class{}
	for _, c := range cs {
		if _, ok := fields[c.Manager]; !ok {
			order = append(order, c.Manager)
			class[c.Manager] = c.Class
		}
		fields[c.Manager] = append(fields[c.Manager], c.Field)
	}
	var parts []string
	for _, m := range order {
		verb := "is"
		if len(fields[m]) > 1 {
			verb = "are"
		}
		parts = append(parts, fmt.Sprintf("%s %s owned by %s (%s)", strings.Join(fields[m], ", "), verb, m, class[m].Describe()))
	}
	return termsafe.String(strings.Join(parts, "; "))
}

// takes says what a forced fix takes: its fields' owners, or the GitOps
// tool that manages the workload.
func (o ownership) takes(managed string) string {
	if len(o.owners) == 0 && managed != "" {
		return "managed by " + managed + ": its next sync reverts a live change"
	}
	return owned(o.owners)
}

// ruleOwners merges the owners of a rule's results, without repeats.
func ruleOwners(results []rules.Result, id string) []owners.Conflict {
	var out []owners.Conflict
	seen := map[owners.Conflict]bool{}
	for _, r := range results {
		if r.Rule != id {
			continue
		}
		for _, c := range r.Owners {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// ownerships describes every listed rule under the current plan. The
// owners come from the plan when it names them (the fix was planned or
// held) and otherwise from the first look, when every fix was planned, so
// an unchosen fix shows its owners too. managed names the GitOps tool
// whose sync reverts any fix of the workload, if one manages it.
func ownerships(items []item, results []rules.Result, forced func(string) bool, managed string) map[string]ownership {
	out := map[string]ownership{}
	for _, it := range items {
		id := it.meta.ID
		o := ownership{owners: ruleOwners(results, id)}
		if len(o.owners) == 0 {
			o.owners = it.owners
		}
		for _, r := range results {
			if r.Rule == id && r.Status == rules.StatusConflict {
				o.held, o.reason = true, r.Reason
				break
			}
		}
		o.forced = !o.held && forced(id) && (managed != "" || slices.ContainsFunc(o.owners, func(c owners.Conflict) bool { return !c.Class.Takes() }))
		if len(o.owners) > 0 || o.held || o.forced {
			out[id] = o
		}
	}
	return out
}
