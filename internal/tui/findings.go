package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// item is one rule's findings on the workload: fixes are chosen per rule,
// so a rule with findings in two containers is one line.
type item struct {
	meta     rules.Meta
	findings []rules.Result
	// fixable: the rule has a safe automatic fix for this workload.
	fixable bool
	// why no fix is offered, when not fixable.
	reason string
	// owners are the fields the fix changes that other managers own, as
	// first seen with every fix planned.
	owners []owners.Conflict
}

// categoryOrder is the order of the groups in the list.
var categoryOrder = []rules.Category{rules.Availability, rules.Health, rules.Security, rules.Resources, rules.Network, rules.Rollout, rules.PolicyFile}

// newItems groups the results of evaluating every fix by rule. results
// come from planning --fix=all taking every field (--force-conflicts), so a
// planned status means the rule can fix this workload, whoever owns what.
func newItems(results []rules.Result) []item {
	metas := map[string]rules.Meta{}
	for _, r := range rules.All() {
		metas[r.Meta().ID] = r.Meta()
	}
	byRule := map[string]*item{}
	var order []string
	for _, r := range results {
		it, ok := byRule[r.Rule]
		if !ok {
			it = &item{meta: metas[r.Rule]}
			byRule[r.Rule] = it
			order = append(order, r.Rule)
		}
		it.findings = append(it.findings, r)
		switch r.Status {
		case rules.StatusPlanned, rules.StatusConflict:
			it.fixable = true
		case rules.StatusNeedsHuman, rules.StatusExempted:
			if it.reason == "" {
				it.reason = r.Reason
			}
		}
	}
	items := make([]item, 0, len(order))
	for _, id := range order {
		it := byRule[id]
		it.owners = ruleOwners(it.findings, id)
		items = append(items, *it)
	}
	rank := func(c rules.Category) int {
		if i := slices.Index(categoryOrder, c); i >= 0 {
			return i
		}
		return len(categoryOrder)
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if rank(a.meta.Category) != rank(b.meta.Category) {
			return rank(a.meta.Category) < rank(b.meta.Category)
		}
		if a.severity() != b.severity() {
			return a.severity() > b.severity()
		}
		return a.meta.ID < b.meta.ID
	})
	return items
}

// severity is the highest severity of the rule's findings on this
// workload, as the text report gives each finding (a rule's findings may
// be less severe than its Meta: service-account-token's "uses the default
// ServiceAccount" is low, its Meta medium). The badge, the order and the
// default pre-selection all use it.
func (it item) severity() rules.Severity {
	if len(it.findings) == 0 {
		return it.meta.Severity
	}
	sev := it.findings[0].Severity
	for _, r := range it.findings[1:] {
		sev = max(sev, r.Severity)
	}
	return sev
}

// headline is the finding the list shows for the rule: the first of the
// highest severity, so the message goes with the badge.
func (it item) headline() rules.Result {
	for _, r := range it.findings {
		if r.Severity == it.severity() {
			return r
		}
	}
	return it.findings[0]
}

// optIn reports whether the rule's fix is a warned choice that must be
// named (rules.Finding.OptIn): never preselected by default.
func (it item) optIn() bool {
	return slices.ContainsFunc(it.findings, func(r rules.Result) bool { return r.OptIn != "" })
}

func (it item) exempted() bool {
	return len(it.findings) > 0 && it.findings[0].Status == rules.StatusExempted
}

// matches reports whether the filter text appears in the rule's ID,
// category or messages.
func (it item) matches(filter string) bool {
	if filter == "" {
		return true
	}
	f := strings.ToLower(filter)
	hay := []string{it.meta.ID, string(it.meta.Category), it.meta.Title}
	for _, r := range it.findings {
		hay = append(hay, r.Message)
	}
	for _, h := range hay {
		if strings.Contains(strings.ToLower(h), f) {
			return true
		}
	}
	return false
}

// findingsList is the left pane: rules grouped by category, each with a
// check box when it can be fixed.
type findingsList struct {
	items    []item
	selected map[string]bool
	filter   string
	cursor   int // index into visible()
	offset   int // first visible row, for scrolling
	// own is who else owns each fix's fields under the current plan;
	// managed names the GitOps tool managing the workload, if any.
	own     map[string]ownership
	managed string
	// unplanned says why a chosen fix is neither planned nor held: it
	// waits for another (a PDB for the replicas fix).
	unplanned map[string]string
}

// visible is the indices of the items the filter lets through.
func (l *findingsList) visible() []int {
	var out []int
	for i, it := range l.items {
		if it.matches(l.filter) {
			out = append(out, i)
		}
	}
	return out
}

// focused is the item under the cursor, if any.
func (l *findingsList) focused() (item, bool) {
	vis := l.visible()
	if len(vis) == 0 {
		return item{}, false
	}
	l.cursor = min(max(l.cursor, 0), len(vis)-1)
	return l.items[vis[l.cursor]], true
}

// setFilter shows the rules matching filter, keeping the focus on the
// rule it was on when that one still shows (else on the first): clearing
// the filter must not move the focus, and the diff follows the focus.
func (l *findingsList) setFilter(filter string) {
	it, had := l.focused()
	l.filter, l.cursor = filter, 0
	if !had {
		return
	}
	for n, i := range l.visible() {
		if l.items[i].meta.ID == it.meta.ID {
			l.cursor = n
			return
		}
	}
}

func (l *findingsList) move(delta int) {
	n := len(l.visible())
	if n == 0 {
		return
	}
	l.cursor = min(max(l.cursor+delta, 0), n-1)
}

// toggle flips the focused rule's fix; report-only rules do not toggle.
func (l *findingsList) toggle() bool {
	it, ok := l.focused()
	if !ok || !it.fixable {
		return false
	}
	l.selected[it.meta.ID] = !l.selected[it.meta.ID]
	return true
}

// setAll selects or clears every fixable rule the filter shows; like
// --fix=all, selecting leaves opt-in fixes to be toggled one by one.
func (l *findingsList) setAll(on bool) {
	for _, i := range l.visible() {
		if l.items[i].fixable && !(on && l.items[i].optIn()) {
			l.selected[l.items[i].meta.ID] = on
		}
	}
}

// chosen lists the selected rule IDs, in list order.
func (l *findingsList) chosen() []string {
	var out []string
	for _, it := range l.items {
		if it.fixable && l.selected[it.meta.ID] {
			out = append(out, it.meta.ID)
		}
	}
	return out
}

func (l *findingsList) fixableCount() int {
	n := 0
	for _, it := range l.items {
		if it.fixable {
			n++
		}
	}
	return n
}

// view renders height rows of width cells: category headings and items,
// scrolled so the cursor stays in sight.
func (l *findingsList) view(st styles, width, height int, focused bool) string {
	type row struct {
		text   string
		cursor bool
	}
	var rows []row
	cursorRow := 0
	var last rules.Category
	for n, i := range l.visible() {
		it := l.items[i]
		if it.meta.Category != last {
			last = it.meta.Category
			rows = append(rows, row{text: st.category.Render(string(last))})
		}
		if n == l.cursor {
			cursorRow = len(rows)
		}
		rows = append(rows, row{text: l.line(st, it), cursor: n == l.cursor})
	}
	if len(rows) == 0 {
		return lipgloss.NewStyle().Width(width).Height(height).Render(st.subtle.Render("no finding matches the filter"))
	}
	l.scroll(cursorRow, len(rows), height)
	var out []string
	for _, r := range rows[l.offset:min(l.offset+height, len(rows))] {
		text := ansi.Truncate(r.text, width, "…")
		if r.cursor {
			text = st.cursorLine(text, width, focused)
		}
		out = append(out, text)
	}
	for len(out) < height {
		out = append(out, "")
	}
	return strings.Join(out, "\n")
}

// scroll sets the first row shown of rows rows, height at a time, so the
// cursor's row (and its category heading, when there is room) is in view.
func (l *findingsList) scroll(cursorRow, rows, height int) {
	if cursorRow < l.offset+1 {
		l.offset = max(cursorRow-1, 0)
	}
	if cursorRow >= l.offset+height {
		l.offset = cursorRow - height + 1
	}
	l.offset = min(l.offset, max(rows-height, 0))
}

// line is one rule's row: its box, severity, ID, and headline with the
// count of its findings and the owner badge of its fix.
func (l *findingsList) line(st styles, it item) string {
	msg := termsafe.String(it.headline().Message)
	if len(it.findings) > 1 {
		msg = fmt.Sprintf("(%d) %s", len(it.findings), msg)
	}
	if !it.fixable {
		msg = st.manual.Render(msg)
	}
	if o, ok := l.own[it.meta.ID]; ok && it.fixable {
		if b := o.badge(l.managed); b != "" {
			msg = st.owner(o).Render(b) + " " + msg
		}
	}
	return fmt.Sprintf("%s %s %-22s %s", l.box(st, it), st.badge(it.severity()), it.meta.ID, msg)
}

// box is a rule's check box: "[x]" chosen, "[!]" chosen but held, "[~]"
// chosen but not planned now, "[ ]" not chosen, " · " report only, " - "
// exempted.
func (l *findingsList) box(st styles, it item) string {
	id := it.meta.ID
	switch {
	case it.exempted():
		return " - "
	case !it.fixable:
		return " · "
	case l.selected[id] && l.own[id].held:
		return "[" + st.bad.Render("!") + "]" // chosen, but not applied
	case l.selected[id] && l.unplanned[id] != "":
		return "[" + st.warn.Render("~") + "]"
	case l.selected[id]:
		return "[" + st.check.Render("x") + "]"
	}
	return "[ ]"
}

// unplanned maps each chosen rule the plan neither applies nor holds to
// the reason of its first finding: what it waits for.
func unplanned(chosen []string, results []rules.Result) map[string]string {
	out := map[string]string{}
	for _, id := range chosen {
		reason, planned := "", false
		for _, r := range results {
			if r.Rule != id {
				continue
			}
			switch r.Status {
			case rules.StatusPlanned, rules.StatusConflict:
				planned = true
			default:
				if reason == "" {
					reason = r.Reason
				}
			}
		}
		if !planned && reason != "" {
			out[id] = reason
		}
	}
	return out
}
