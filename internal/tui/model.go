package tui

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// Model is the fix view of one workload: the root model, holding the
// findings list, the diff pane, the edit form and the apply flow. Its
// modes (mode.go) say which of them has the keys and the screen.
type Model struct {
	ctx  context.Context
	eng  Engine
	w    Workload
	keys keyMap
	st   styles
	help help.Model

	// modes is what the view is doing, the current mode last; modes[0]
	// is the panes' (modeList or modeDiff). Each mode's sub-model is set
	// while it is open: form (modeEdit), steps (modeApply), quitting
	// (modeQuit).
	modes stack[mode]
	list  findingsList
	diff  diffPane
	form  *form
	steps *steps
	// filter is the `/` prompt.
	filter textinput.Model
	// dest is the `w` prompt: the folder to write the overlay into.
	dest textinput.Model

	params map[string]rules.Params
	// initial is the selection and parameters the view opened with: what
	// quitting would drop is counted against it.
	initial struct {
		selected map[string]bool
		params   map[string]rules.Params
	}
	// quitting is the "quit and drop N edits? y/n" question, when asked.
	quitting *quitPrompt
	// force and forceAll are the fixes whose fields are taken from their
	// other managers anyway (f), like --force-conflicts for those rules.
	force    map[string]bool
	forceAll bool
	results  []rules.Result
	plan     *plan.Plan
	// applied is set once the plan was applied: the score shown is the
	// one with its fixes in, and appliedN fixes count as applied.
	applied  bool
	appliedN int
	// desired0 is the workload's replicas when the view opened.
	desired0 int32
	status   string
	// focused caches each rule's own diff, by rule ID, between replans: the
	// cursor moves far more often than the plan changes.
	focused map[string]string

	width, height int
	outcome       Outcome
	// embedded is set when an outer model (the audit browser) owns the
	// program: quitting returns to it instead of ending the program.
	embedded bool
	done     bool
	// interrupted is set by SIGINT or SIGTERM: the view ends as soon as
	// the rollout in progress, if any, is rolled back.
	interrupted bool
}

// New builds the fix view. preselect names the rules whose fixes start
// selected (the --fix flag); nil selects every fixable rule whose findings
// here are of medium severity or worse (item.severity).
func New(ctx context.Context, eng Engine, w Workload, preselect []string, params map[string]rules.Params) (*Model, error) {
	if params == nil {
		params = map[string]rules.Params{}
	}
	// Every fix as if its fields were free: which rules can fix this
	// workload, and whose fields each would take.
	// Every rule named by its ID, so opt-in fixes (rules.Finding.OptIn)
	// are planned here too and can be toggled.
	var every []string
	for _, r := range rules.All() {
		every = append(every, r.Meta().ID)
	}
	all, _, err := eng.Plan(rules.Selection{Fix: every, Params: params, Force: []string{"all"}})
	if err != nil {
		return nil, err
	}
	m := &Model{ctx: ctx, eng: eng, w: w, keys: newKeyMap(), st: newStyles(true), help: help.New(), modes: stack[mode]{modeList},
		list: findingsList{items: newItems(all), selected: map[string]bool{}, managed: termsafe.String(w.Managed)},
		diff: newDiffPane(), params: params, force: map[string]bool{}, focused: map[string]string{}}
	for _, it := range m.list.items {
		m.keys.owned = m.keys.owned || len(it.owners) > 0 || w.Managed != ""
		switch {
		case !it.fixable:
		case it.optIn() && !(rules.Selection{Fix: preselect}).Names(it.meta):
			// a warned choice: off until --fix names the rule or the user toggles it
		case preselect != nil:
			m.list.selected[it.meta.ID] = rules.Selection{Fix: preselect}.Chooses(it.meta)
		default:
			m.list.selected[it.meta.ID] = it.severity() >= rules.Medium
		}
	}
	m.filter = textinput.New()
	m.filter.Prompt = "/"
	m.filter.Placeholder = "filter by rule, category or message"
	m.dest = textinput.New()
	m.dest.Prompt = "write the kustomize overlay to: "
	m.dest.Placeholder = m.defaultDest()
	m.dest.SetValue(m.defaultDest())
	m.help.Styles = m.st.help
	m.desired0 = w.Desired
	m.initial.selected = maps.Clone(m.list.selected)
	m.initial.params = map[string]rules.Params{}
	for id, p := range params {
		m.initial.params[id] = maps.Clone(p)
	}
	m.replan()
	return m, nil
}

// Outcome is how the view ended.
func (m *Model) Outcome() Outcome { return m.outcome }

// Init asks the terminal for its background colour, to pick light or dark
// styles.
func (m *Model) Init() tea.Cmd { return tea.RequestBackgroundColor }

// selection asks for the fixes of the rules fix, taking the fields of
// those the user forced.
func (m *Model) selection(fix []string) rules.Selection {
	sel := rules.Selection{Fix: fix, Params: m.params}
	if m.forceAll {
		sel.Force = []string{"all"}
		return sel
	}
	for _, it := range m.list.items {
		if m.force[it.meta.ID] {
			sel.Force = append(sel.Force, it.meta.ID)
		}
	}
	return sel
}

// forced reports whether the user takes rule id's fields anyway.
func (m *Model) forced(id string) bool { return m.forceAll || m.force[id] }

// replan evaluates the chosen fixes and refreshes the diffs and the
// owner badges.
func (m *Model) replan() error {
	results, p, err := m.eng.Plan(m.selection(m.list.chosen()))
	if err != nil {
		m.status = "cannot plan: " + err.Error()
		return err
	}
	m.results, m.plan, m.status = results, p, ""
	m.list.own = ownerships(m.list.items, results, m.forced, m.list.managed)
	m.list.unplanned = unplanned(m.list.chosen(), results)
	m.focused = map[string]string{}
	m.refocus()
	return nil
}

// toApply lists the chosen rules the plan applies, in list order: not the
// held ones.
func (m *Model) toApply() []string {
	var out []string
	for _, id := range m.list.chosen() {
		if slices.ContainsFunc(m.results, func(r rules.Result) bool { return r.Rule == id && r.Status == rules.StatusPlanned }) {
			out = append(out, id)
		}
	}
	return out
}

// held lists the chosen rules the plan holds back, in list order.
func (m *Model) held() []string {
	var out []string
	for _, id := range m.list.chosen() {
		if m.list.own[id].held {
			out = append(out, id)
		}
	}
	return out
}

// toggleForce flips "take this fix's fields anyway" for the focused fix;
// forcing a fix means wanting it.
func (m *Model) toggleForce() {
	it, ok := m.list.focused()
	switch {
	case !ok:
		return
	case !it.fixable:
		m.status = it.meta.ID + " is report only: nothing to take"
		return
	case len(it.owners) == 0 && m.w.Managed == "":
		m.status = "no other manager owns what " + it.meta.ID + " changes: nothing to take"
		return
	}
	id := it.meta.ID
	if m.forceAll { // from "all" to every fix but this one
		m.forceAll = false
		for _, x := range m.list.items {
			m.force[x.meta.ID] = x.fixable
		}
		m.force[id] = true
	}
	m.force[id] = !m.force[id]
	if m.force[id] {
		m.list.selected[id] = true
	}
	m.replan() // the why line says what the fix now does
}

// refocus recomputes the focused rule's own diff, highlighted in the
// combined one.
func (m *Model) refocus() {
	focused := ""
	if it, ok := m.list.focused(); ok && it.fixable && m.list.selected[it.meta.ID] {
		id := it.meta.ID
		diff, cached := m.focused[id]
		if !cached {
			diff = m.ownDiff(id)
			m.focused[id] = diff
		}
		if diff != "" {
			focused = fixNotes(m.results, id) + diff
		}
	}
	combined := m.plan.Diff()
	if combined != "" {
		combined = fixNotes(m.results, "") + combined
	}
	m.diff.set(combined, focused, m.st)
}

// ownDiff is rule id's own part of the plan, as unified diffs: its
// changes to the objects that exist (the workload, its HPA), planned with
// id alone so no other fix's lines mix in, then the companions the
// combined plan creates for it (a PodDisruptionBudget, a NetworkPolicy).
// A companion is taken from the combined plan because, alone, a rule may
// plan none: the pdb fix waits for the replicas fix on a single replica.
func (m *Model) ownDiff(id string) string {
	var b strings.Builder
	if _, p, err := m.eng.Plan(m.selection([]string{id})); err == nil {
		for _, o := range p.Objects {
			if !o.Create {
				b.WriteString(o.Diff())
			}
		}
	}
	for _, o := range m.plan.Objects {
		if o.Create && slices.Contains(o.Rules, id) {
			b.WriteString(o.Diff())
		}
	}
	return b.String()
}

// fixNotes are the diff pane's comment lines for the planned fixes of rule
// id ("" for every rule): "# RULE: fix: DESCRIPTION" — what the fix does
// and where its numbers come from — and "# RULE: warning: …". Lines start
// with "#", which no unified diff line does; the pane escapes them.
func fixNotes(results []rules.Result, id string) string {
	var b strings.Builder
	for _, r := range results {
		if id != "" && r.Rule != id {
			continue
		}
		for _, l := range report.FixLines(r) {
			b.WriteString("# " + r.Rule + ": " + l + "\n")
		}
	}
	return b.String()
}

// scores are the workload's score now and once the chosen fixes apply.
func (m *Model) scores() (now, after int) {
	projected := make([]rules.Result, len(m.results))
	copy(projected, m.results)
	for i := range projected {
		if projected[i].Status == rules.StatusPlanned {
			projected[i].Status = rules.StatusFixed
		}
	}
	if m.applied {
		return rules.Score(projected), rules.Score(projected)
	}
	return rules.Score(m.results), rules.Score(projected)
}

// Update routes a message to the part of the view that owns it: keys to
// the current mode (see key), the apply flow's results and the prompts'
// own messages to the mode that runs (see forward).
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.st = newStyles(msg.IsDark())
		m.help.Styles = m.st.help
		m.diff.render(m.st)
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case interruptMsg:
		return m, m.interrupt()
	}
	return m, m.forward(msg)
}

// stepsUpdate hands a message to the apply flow; the header follows it,
// and a signal that came during the rollout ends the view once the
// result is in.
func (m *Model) stepsUpdate(msg tea.Msg) tea.Cmd {
	cmd := m.steps.update(m.ctx, m.eng, msg)
	m.follow(msg)
	if m.interrupted && m.steps.phase == phaseDone {
		return m.quit(m.applyOutcome())
	}
	return cmd
}

// toggleHelp shows the full help, or the one line.
func (m *Model) toggleHelp() {
	m.help.ShowAll = !m.help.ShowAll
	m.layout()
}

// switchPane moves the focus between the list and the diff pane (tab).
func (m *Model) switchPane() {
	if m.diffFocused() {
		m.modes[0] = modeList
	} else {
		m.modes[0] = modeDiff
	}
}

// moveFocus moves the list's focus by delta rules; the diff follows.
func (m *Model) moveFocus(delta int) {
	m.list.move(delta)
	m.refocus()
}

// toggleFix selects or drops the focused fix; a report-only rule says
// why it has none.
func (m *Model) toggleFix() {
	if !m.list.toggle() {
		m.status = "report only: no automatic fix for this one"
		if it, ok := m.list.focused(); ok && it.reason != "" {
			m.status = "report only: " + it.reason
		}
		return
	}
	m.replan()
}

// selectAll selects every fix (a) or none (n).
func (m *Model) selectAll(on bool) {
	m.list.setAll(on)
	m.replan()
}

// nextDiffMode shows the diff the next way: unified, side by side, ….
func (m *Model) nextDiffMode() {
	m.diff.next(m.diffWidth())
	m.diff.render(m.st)
}

// openFilter opens the `/` prompt.
func (m *Model) openFilter() tea.Cmd {
	m.modes.push(modeFilter)
	return m.filter.Focus()
}

// openWrite opens the `w` prompt, when there is something to write.
func (m *Model) openWrite() tea.Cmd {
	if m.plan.Empty() && len(m.held()) == 0 {
		m.status = "nothing to write: select a fix with space"
		return nil
	}
	m.modes.push(modeWrite)
	m.status = ""
	if m.help.ShowAll { // the prompt's help is one line
		m.help.ShowAll = false
		m.layout()
	}
	m.dest.CursorEnd()
	return m.dest.Focus()
}

// openApply starts the apply flow with its dry-run. Held fixes alone
// still open the confirm screen, where f takes them.
func (m *Model) openApply() tea.Cmd {
	if m.plan.Empty() && len(m.held()) == 0 {
		m.status = "nothing to apply: select a fix with space"
		return nil
	}
	s := newSteps(m.st)
	m.steps = &s
	m.modes.push(modeApply)
	m.steps.load(m.plan, m.toApply(), m.confirmFixes(), m.list.managed)
	return m.steps.startDryRun(m.ctx, m.eng)
}

// confirmFixes are the chosen fixes the confirm screen names with their
// owners: held back, or taking fields from other managers.
func (m *Model) confirmFixes() []ownedFix {
	var out []ownedFix
	for _, id := range m.list.chosen() {
		if o, ok := m.list.own[id]; ok && (o.held || slices.Contains(m.toApply(), id)) {
			out = append(out, ownedFix{rule: id, ownership: o})
		}
	}
	return out
}

func (m *Model) openForm() tea.Cmd {
	it, ok := m.list.focused()
	switch {
	case !ok:
		return nil
	case !it.fixable:
		m.status = it.meta.ID + " is report only: nothing to edit"
		return nil
	case len(it.meta.Params) == 0:
		m.status = it.meta.ID + "'s fix has no parameters"
		return nil
	}
	f := newForm(it.meta, m.params[it.meta.ID], m.st)
	m.form = &f
	m.modes.push(modeEdit)
	return textinput.Blink
}

// closeForm closes the edit form.
func (m *Model) closeForm() {
	m.form = nil
	m.modes.pop()
}

// formKey edits the focused fix's parameters: esc drops the edit, a
// submit replans with them and closes the form, or keeps it open with
// the error when the rule refuses them.
func (m *Model) formKey(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Back) {
		m.closeForm()
		return nil
	}
	f, cmd, submit := m.form.update(msg)
	m.form = &f
	if !submit {
		return cmd
	}
	id := f.rule.ID
	old, had := m.params[id]
	m.params[id] = f.params()
	// Editing a fix means wanting it.
	wasSelected := m.list.selected[id]
	m.list.selected[id] = true
	if err := m.replan(); err != nil {
		if had {
			m.params[id] = old
		} else {
			delete(m.params, id)
		}
		m.list.selected[id] = wasSelected
		m.form.err = err.Error()
		m.replan()
		return nil
	}
	m.closeForm()
	m.status = "updated " + id + "'s fix"
	return nil
}

// filterKey edits the `/` prompt: enter keeps the filter, esc clears it
// (the view stays), ↑/↓ move the focus through what it shows, and the
// diff follows the focus as without a filter.
func (m *Model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter":
		m.modes.pop()
		m.filter.Blur()
	case "esc":
		m.modes.pop()
		m.clearFilter()
	case "up":
		m.list.move(-1)
	case "down":
		m.list.move(1)
	default:
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		m.list.setFilter(m.filter.Value())
		m.refocus()
		return cmd
	}
	m.refocus()
	return nil
}

// clearFilter shows every rule again, the focus staying on its rule.
func (m *Model) clearFilter() {
	m.filter.Blur()
	m.filter.SetValue("")
	m.list.setFilter("")
	m.refocus()
}

// applyingKey handles a key during the apply: ctrl+c stops it, and the
// engine rolls back, then reports.
func (m *Model) applyingKey(msg tea.KeyPressMsg) tea.Cmd {
	if s := m.steps; msg.String() == "ctrl+c" && !s.cancelled {
		s.cancelled = true
		s.cancel()
	}
	return nil
}

// resultKey handles a key on the result screen: q, esc, enter or ctrl+c
// end the view with the apply's outcome.
func (m *Model) resultKey(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.steps.keys().Quit) {
		return m.quit(m.applyOutcome())
	}
	return nil
}

// confirmKey handles a key during the dry-run and on the confirm screen:
// quit, esc back to the list, y applies, f takes other managers' fields.
func (m *Model) confirmKey(msg tea.KeyPressMsg) tea.Cmd {
	s := m.steps
	k := s.keys()
	switch {
	case key.Matches(msg, k.Quit):
		return m.askQuit(msg.String() == "ctrl+c")
	case key.Matches(msg, k.Back):
		s.cancel()
		m.steps = nil
		m.modes.pop()
	case key.Matches(msg, k.Confirm) && k.Confirm.Enabled():
		return s.startCommit(m.ctx, m.eng)
	case key.Matches(msg, k.Force) && k.Force.Enabled():
		return m.forceConflicts()
	}
	return nil
}

// forceConflicts is f on the confirm screen, like --force-conflicts: the
// held fixes are planned again taking their fields, and the dry-run takes
// whatever else it meets.
func (m *Model) forceConflicts() tea.Cmd {
	s := m.steps
	if len(s.heldFixes()) > 0 {
		m.forceAll = true
		if err := m.replan(); err != nil {
			s.err = err
			return nil
		}
		s.load(m.plan, m.toApply(), m.confirmFixes(), m.list.managed)
	}
	s.force = true
	return s.startDryRun(m.ctx, m.eng)
}

// defaultDest is the folder `w` offers: harden-NS-KIND-NAME.
func (m *Model) defaultDest() string {
	return fmt.Sprintf("harden-%s-%s-%s", m.w.Namespace, strings.ToLower(m.w.Kind), m.w.Name)
}

// writeKey edits the `w` prompt: enter writes the overlay there and ends,
// esc goes back without writing. A failed write closes the prompt with the
// error; `w` reopens it with the folder typed. Held fixes are written too:
// the source is where their owner's fields change.
func (m *Model) writeKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.modes.pop()
		m.dest.Blur()
		m.dest.SetValue(m.defaultDest())
		return nil
	case "enter":
		dir := strings.TrimSpace(m.dest.Value())
		if dir == "" {
			return nil // the prompt stays: a folder is needed
		}
		m.modes.pop()
		m.dest.Blur()
		return m.write(dir)
	}
	var cmd tea.Cmd
	m.dest, cmd = m.dest.Update(msg)
	return cmd
}

// write writes the chosen fixes, held ones included, as a kustomize
// overlay into dir and ends the view; a failure is told on the status
// line and the view stays.
func (m *Model) write(dir string) tea.Cmd {
	sel := m.selection(m.list.chosen())
	sel.Force = []string{"all"}
	_, p, err := m.eng.Plan(sel)
	if err != nil {
		m.status = "cannot plan: " + err.Error()
		return nil
	}
	written, err := m.eng.Write(p, dir)
	if err != nil {
		m.status = "cannot write " + dir + ": " + err.Error()
		return nil
	}
	return m.quit(Outcome{Written: written, Rules: m.list.chosen(), Pending: m.pendingNow()})
}

// follow keeps the header live through the apply: the pods as the
// engine reads them again (Engine.Pods, during the rollout and once after
// it), and, once the apply succeeded, the replicas the plan set and the
// score with the fixes in.
func (m *Model) follow(msg tea.Msg) {
	s := m.steps
	switch msg := msg.(type) {
	case podsMsg:
		if s.podsRead {
			m.w.Stats = s.pods
			// The rollout is under way: the pods count against the
			// replicas it rolls out to.
			if n, ok := replicasSet(s.plan, m.w); ok && !m.applied && s.phase == phaseApplying {
				m.w.Desired = n
			}
		}
	case commitMsg:
		m.w.Desired = m.desired0 // rolled back: as it was
		if msg.err == nil && s.phase == phaseDone {
			m.applied, m.appliedN = true, len(s.rules)
			if n, ok := replicasSet(s.plan, m.w); ok {
				m.w.Desired = n
			}
		}
	}
}

// replicasSet is the spec.replicas the plan gives the workload w, if it
// sets one.
func replicasSet(p *plan.Plan, w Workload) (int32, bool) {
	if p == nil {
		return 0, false
	}
	for _, o := range p.Objects {
		if o.Create || o.Kind != w.Kind || o.Name != w.Name {
			continue
		}
		v, found, err := unstructured.NestedFieldNoCopy(o.After, "spec", "replicas")
		if !found || err != nil {
			return 0, false
		}
		switch n := v.(type) {
		case int64:
			return int32(n), true
		case int32:
			return n, true
		case int:
			return int32(n), true
		case float64:
			return int32(n), true
		}
	}
	return 0, false
}

// quitPrompt is the question asked before quitting drops edits: abort
// says ctrl+c asked (its answer ends with exit 130).
type quitPrompt struct {
	abort bool
	edits int
}

func (q quitPrompt) String() string {
	return fmt.Sprintf("quit and drop %d edit%s? y/n", q.edits, plural(q.edits, "s"))
}

// askQuit ends the view without applying: at once when nothing was
// edited, else after "quit and drop N edits? y/n". abort is ctrl+c.
func (m *Model) askQuit(abort bool) tea.Cmd {
	if n := m.edits(); n > 0 {
		m.quitting = &quitPrompt{abort: abort, edits: n}
		m.modes.push(modeQuit)
		return nil
	}
	return m.leave(abort)
}

// quitKey answers the quit question: y quits, ctrl+c (asked twice)
// aborts, n or esc stays; any other key leaves the question up.
func (m *Model) quitKey(msg tea.KeyPressMsg) tea.Cmd {
	q := m.quitting
	switch msg.String() {
	case "y", "Y":
		m.closeQuit()
		return m.leave(q.abort)
	case "ctrl+c":
		m.closeQuit()
		return m.leave(true)
	case "n", "N", "esc":
		m.closeQuit()
	}
	return nil
}

// closeQuit takes the quit question down.
func (m *Model) closeQuit() {
	m.quitting = nil
	m.modes.pop()
}

// leave ends the view with nothing applied: aborted (ctrl+c, exit 130) or
// quit with every finding still pending.
func (m *Model) leave(abort bool) tea.Cmd {
	if m.steps != nil && m.steps.cancel != nil {
		m.steps.cancel() // a dry-run in flight
	}
	if abort {
		return m.quit(Outcome{Aborted: true})
	}
	return m.quit(Outcome{Quit: true, Pending: m.pendingNow()})
}

// edits counts the fixable rules whose choice the user changed since the
// view opened: selected or not, parameters, fields taken from another
// manager (f; only fields a plan would not take anyway count: a one-off
// edit's are taken without it).
// Quitting drops them.
func (m *Model) edits() int {
	n := 0
	for _, it := range m.list.items {
		id := it.meta.ID
		if !it.fixable {
			continue
		}
		taken := m.forced(id) && (m.w.Managed != "" || slices.ContainsFunc(it.owners, func(c owners.Conflict) bool { return !c.Class.Takes() }))
		if m.list.selected[id] != m.initial.selected[id] || !maps.Equal(m.params[id], m.initial.params[id]) || taken {
			n++
		}
	}
	return n
}

// pendingNow counts the findings pending as the workload is: all but the
// exempted, since nothing was applied.
func (m *Model) pendingNow() int {
	n := 0
	for _, r := range m.results {
		if r.Pending() {
			n++
		}
	}
	return n
}

// applyOutcome is how the apply flow ended, with the findings it leaves
// (however the view is left: q, or a signal on the result screen).
func (m *Model) applyOutcome() Outcome {
	o := m.steps.outcome()
	o.Pending = m.pendingAfter()
	if o.Err != nil {
		o.Pending = m.pendingNow() // rolled back: nothing was fixed
	}
	return o
}

// pendingAfter counts the findings an apply of the plan leaves: every
// one but those it fixes (planned) and the exempted.
func (m *Model) pendingAfter() int {
	n := 0
	for _, r := range m.results {
		if r.Status != rules.StatusPlanned && r.Pending() {
			n++
		}
	}
	return n
}

// interrupt handles SIGINT or SIGTERM: a rollout in progress is being
// rolled back (its context was the cancelled one) and the view ends once
// the engine reports; otherwise it ends at once, nothing changed.
func (m *Model) interrupt() tea.Cmd {
	m.interrupted = true
	s := m.steps
	switch {
	case s != nil && s.phase == phaseApplying:
		s.cancelled = true
		return nil
	case s != nil && s.phase == phaseDone:
		return m.quit(m.applyOutcome())
	case s != nil && s.cancel != nil:
		s.cancel()
	}
	return m.quit(Outcome{Aborted: true, Interrupted: true})
}

// quit ends the view with outcome o: the program, or, embedded, back to
// the browser.
func (m *Model) quit(o Outcome) tea.Cmd {
	m.outcome, m.done = o, true
	if m.embedded {
		return nil
	}
	return tea.Quit
}

// Layout: a two-line header, the panes, a status line and the help.
const statusH = 1

// headerHeight is the header's rows: the workload and score, the live
// line, and the unread line when some reads were refused.
func (m *Model) headerHeight() int {
	if len(m.w.Unread) > 0 {
		return 3
	}
	return 2
}

func (m *Model) wide() bool { return m.width >= 120 }

func (m *Model) listWidth() int {
	if m.wide() {
		return min(max(m.width*45/100, 40), 72)
	}
	return m.width
}

func (m *Model) diffWidth() int {
	if m.wide() {
		return m.width - m.listWidth() - 2
	}
	return m.width - 2
}

func (m *Model) bodyHeight() int {
	m.help.SetWidth(m.width)
	return max(m.height-m.headerHeight()-statusH-lipgloss.Height(m.help.View(m.keys)), 6)
}

// listHeight is the list pane's outer height when the panes are stacked.
func (m *Model) listHeight() int { return max(m.bodyHeight()*9/20, 5) }

func (m *Model) layout() {
	h := m.bodyHeight() - 2 // the borders
	if !m.wide() {
		h = m.bodyHeight() - m.listHeight() - 2
	}
	m.diff.resize(m.diffWidth(), max(h, 1), m.st)
}

// View draws the whole screen on the alternate screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "kubectl harden " + strings.ToLower(m.w.Kind) + "/" + termsafe.String(m.w.Name)
	return v
}

// Render is the screen's content: the header, then the apply flow's
// screen or the panes with the status line, and the current mode's help
// line at the bottom.
func (m *Model) Render() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	parts := []string{m.header()}
	if m.modes.has(modeApply) {
		parts = append(parts, m.st.box(m.steps.title(), m.steps.view(m.st, m.w, m.width-2, m.bodyHeight()-2), m.width-2, m.bodyHeight()-2, true), "")
	} else {
		parts = append(parts, m.body(), m.statusLine())
	}
	return strings.Join(append(parts, m.helpLine()), "\n")
}

// helpLine is the bottom line: the current mode's keys, or the quit
// question in their place.
func (m *Model) helpLine() string {
	m.help.SetWidth(m.width)
	switch m.modes.top() {
	case modeQuit:
		return m.quitLine()
	case modeApply:
		return m.help.View(m.steps.keys())
	case modeWrite:
		return m.help.View(newPromptKeys())
	case modeEdit:
		return m.help.View(newFormKeys())
	}
	return m.help.View(m.keys)
}

func (m *Model) header() string {
	q := termsafe.String
	now, after := m.scores()
	score := "score " + m.st.score(now).Render(fmt.Sprint(now))
	if after != now {
		score += " → " + m.st.score(after).Render(fmt.Sprint(after))
	}
	left := fmt.Sprintf("%s  %s %s  %s %s", m.st.bold.Render(strings.ToLower(m.w.Kind)+"/"+q(m.w.Name)),
		m.st.subtle.Render("ns"), q(m.w.Namespace), m.st.subtle.Render("ctx"), q(m.w.Context))
	if m.w.Policy != "" {
		left += "  " + m.st.subtle.Render("policy") + " " + q(m.w.Policy)
	}
	if m.width >= 100 {
		left = m.st.title.Render("kubectl harden") + " " + left
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(score)
	line1 := ansi.Truncate(left, m.width-ansi.StringWidth(score)-1, "…") + strings.Repeat(" ", max(gap, 1)) + score
	s := m.w.Stats
	// Held fixes are chosen but not applied: they count apart.
	fixes := fmt.Sprintf("%d/%d fixes selected", len(m.list.chosen()), m.list.fixableCount())
	switch held := len(m.held()); {
	case m.applied:
		fixes = fmt.Sprintf("%d fix%s applied · %d left", m.appliedN, plural(m.appliedN, "es"), m.list.fixableCount()-m.appliedN)
	case held > 0:
		fixes = fmt.Sprintf("%d/%d fixes to apply · %d held", len(m.toApply()), m.list.fixableCount(), held)
	}
	live := fmt.Sprintf("pods %d/%d ready · %d restarts · zones %s · %s", s.Ready, m.w.Desired, s.Restarts,
		zoneCounts(s.Zones, m.w.Unread, ":", " "), fixes)
	var problems []string
	for p, n := range s.Problems {
		problems = append(problems, fmt.Sprintf("%s×%d", q(p), n))
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		live += " · " + m.st.bad.Render(strings.Join(problems, " "))
	}
	head := line1 + "\n" + ansi.Truncate(m.st.subtle.Render(live), m.width, "…")
	if u := unreadLine(m.st, m.w.Unread, "-o text", m.width); u != "" {
		head += "\n" + u
	}
	return head
}

// zoneCounts renders ready pods per zone, e.g. "zone-a:1 zone-b:2" (sep
// ":", join " "); "no zone" is a node without the zone label, "unknown"
// every zone when nodes could not be read, "-" no ready pod.
func zoneCounts(zones map[string]int, unread []inspect.Unread, sep, join string) string {
	if zonesUnknown(unread) {
		return "unknown"
	}
	var out []string
	for z, n := range zones {
		if z == "" {
			z = "no zone"
		}
		out = append(out, termsafe.String(z)+sep+fmt.Sprint(n))
	}
	sort.Strings(out)
	return orDash(strings.Join(out, join))
}

// quitLine asks the quit question in the help line's place.
func (m *Model) quitLine() string {
	line := m.st.warn.Render(m.quitting.String())
	if m.quitting.abort {
		line += m.st.subtle.Render(" · ctrl+c again aborts")
	}
	return ansi.Truncate(line, m.width, "…")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (m *Model) body() string {
	listW, listH := m.listWidth()-2, m.bodyHeight()-2
	if !m.wide() {
		listH = m.listHeight() - 2
	}
	var left string
	title := fmt.Sprintf("findings · %d rules", len(m.list.items))
	if m.list.filter != "" {
		title += " · filter " + termsafe.String(m.list.filter)
	}
	if m.modes.top() == modeEdit {
		left = m.st.box("edit fix", m.form.view(m.st, listW, listH), listW, listH, true)
	} else {
		left = m.st.box(title, m.list.view(m.st, listW, listH, !m.diffFocused()), listW, listH, !m.diffFocused())
	}
	diffTitle := fmt.Sprintf("%s · %d object%s%s", m.diff.title(), len(m.plan.Objects), plural(len(m.plan.Objects), "s"), m.diff.position())
	right := m.st.box(diffTitle, m.diff.vp.View(), m.diffWidth(), m.diff.vp.Height(), m.diffFocused())
	if m.wide() {
		return lipgloss.JoinHorizontal(lipgloss.Top, left, right)
	}
	return left + "\n" + right
}

// planned is the first planned fix of rule id in the current plan, or nil.
func (m *Model) planned(id string) *rules.Fix {
	for _, r := range m.results {
		if r.Rule == id && r.Status == rules.StatusPlanned && r.Fix != nil {
			return r.Fix
		}
	}
	return nil
}

func (m *Model) statusLine() string {
	var line string
	switch {
	case m.modes.top() == modeFilter:
		m.filter.SetWidth(m.width - 2)
		return m.filter.View()
	case m.modes.top() == modeWrite:
		m.dest.SetWidth(m.width - ansi.StringWidth(m.dest.Prompt) - 1)
		return m.dest.View()
	case m.status != "":
		line = m.st.warn.Render(termsafe.String(m.status))
	default:
		it, ok := m.list.focused()
		switch {
		case !ok:
		case !it.fixable && it.reason != "":
			line = m.st.manual.Render("needs a human: ") + termsafe.String(it.reason)
		case m.list.own[it.meta.ID].held:
			line = m.st.bad.Render("held: ") + termsafe.String(m.list.own[it.meta.ID].why())
		case m.list.unplanned[it.meta.ID] != "":
			line = m.st.manual.Render("not planned now: ") + termsafe.String(m.list.unplanned[it.meta.ID])
		case m.list.own[it.meta.ID].forced:
			line = m.st.warn.Render("forced: ") + m.list.own[it.meta.ID].takes(m.list.managed)
		case m.list.selected[it.meta.ID] && m.planned(it.meta.ID) != nil:
			line = m.st.subtle.Render("fix: ") + termsafe.String(m.planned(it.meta.ID).Description)
		default:
			line = m.st.subtle.Render("why: ") + it.meta.Why
		}
	}
	return ansi.Truncate(line, m.width, "…")
}
