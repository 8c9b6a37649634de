package tui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// mode is what the fix view is doing: which part gets the keys and what
// the bottom lines show. Modes stack (see stack): the filter prompt, the
// edit form, the `w` prompt and the apply flow open over the panes and
// return to them; the quit question opens over the panes or the apply
// flow and returns to where it was asked.
type mode int

const (
	modeList   mode = iota // the findings list has the focus; the view opens here
	modeDiff               // tab: the diff pane has the focus, ↑/↓ scroll it
	modeFilter             // `/`: typing the filter (m.filter)
	modeEdit               // enter/e: one fix's parameters (m.form)
	modeWrite              // w: the folder to write the overlay into (m.dest)
	modeApply              // y: dry-run, confirm, apply, result (m.steps, by its phase)
	modeQuit               // "quit and drop N edits? y/n" (m.quitting)
)

var modeNames = [...]string{"list", "diff", "filter", "edit", "write", "apply", "quit"}

func (md mode) String() string { return modeNames[md] }

// stack is a model's modes, the current one last. The first is the base,
// which a pop never removes: the fix view's panes, the browser's list.
type stack[M comparable] []M

// top is the current mode.
func (s stack[M]) top() M { return s[len(s)-1] }

// push opens mode md over the current one.
func (s *stack[M]) push(md M) { *s = append(*s, md) }

// pop closes the current mode, returning to the one it opened over; the
// base stays.
func (s *stack[M]) pop() {
	if len(*s) > 1 {
		*s = (*s)[:len(*s)-1]
	}
}

// has reports whether md is open, current or under another.
func (s stack[M]) has(md M) bool { return slices.Contains(s, md) }

// below is the current mode, looking through the ones skip names: the
// mode that keeps running under a question.
func (s stack[M]) below(skip ...M) M {
	for i := len(s) - 1; i > 0; i-- {
		if !slices.Contains(skip, s[i]) {
			return s[i]
		}
	}
	return s[0]
}

// diffFocused reports whether the diff pane has the focus: the panes'
// mode, under whatever is open over them, is modeDiff.
func (m *Model) diffFocused() bool { return m.modes[0] == modeDiff }

// key hands a key press to the current mode.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch m.modes.top() {
	case modeDiff:
		return m.diffKey(msg)
	case modeFilter:
		return m.filterKey(msg)
	case modeEdit:
		return m.formKey(msg)
	case modeWrite:
		return m.writeKey(msg)
	case modeApply:
		return m.stepKey(msg)
	case modeQuit:
		return m.quitKey(msg)
	}
	return m.listKey(msg)
}

// keyAction is what one key of the panes does.
type keyAction struct {
	key key.Binding
	do  func() tea.Cmd
}

// noCmd is an action that runs no command.
func noCmd(do func()) func() tea.Cmd {
	return func() tea.Cmd {
		do()
		return nil
	}
}

// listActions are the panes' keys, in the order they are matched.
func (m *Model) listActions() []keyAction {
	k := m.keys
	return []keyAction{
		{k.Help, noCmd(m.toggleHelp)},
		{k.Tab, noCmd(m.switchPane)},
		{k.Up, noCmd(func() { m.moveFocus(-1) })},
		{k.Down, noCmd(func() { m.moveFocus(1) })},
		{k.PageUp, noCmd(m.diff.vp.PageUp)},
		{k.PageDown, noCmd(m.diff.vp.PageDown)},
		{k.Force, noCmd(m.toggleForce)},
		{k.Toggle, noCmd(m.toggleFix)},
		{k.All, noCmd(func() { m.selectAll(true) })},
		{k.None, noCmd(func() { m.selectAll(false) })},
		{k.Filter, m.openFilter},
		{k.Edit, m.openForm},
		{k.DiffMode, noCmd(m.nextDiffMode)},
		{k.Write, m.openWrite},
		{k.Apply, m.openApply},
	}
}

// listKey handles a key of the panes (modeList, and modeDiff's keys but
// ↑/↓): esc clears a filter first; q, esc and ctrl+c quit, asking first
// when edits would be dropped.
func (m *Model) listKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Back) && m.list.filter != "":
		m.clearFilter()
		return nil
	case key.Matches(msg, m.keys.Quit, m.keys.Back):
		return m.askQuit(msg.String() == "ctrl+c")
	}
	for _, a := range m.listActions() {
		if key.Matches(msg, a.key) {
			return a.do()
		}
	}
	return nil
}

// diffKey handles a key while the diff pane has the focus: ↑/↓ scroll
// it, every other key does what it does on the list.
func (m *Model) diffKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Up):
		m.diff.vp.ScrollUp(1)
	case key.Matches(msg, m.keys.Down):
		m.diff.vp.ScrollDown(1)
	default:
		return m.listKey(msg)
	}
	return nil
}

// stepKey hands a key of the apply flow to its phase.
func (m *Model) stepKey(msg tea.KeyPressMsg) tea.Cmd {
	switch m.steps.phase {
	case phaseApplying:
		return m.applyingKey(msg)
	case phaseDone:
		return m.resultKey(msg)
	}
	return m.confirmKey(msg)
}

// forward hands a message other than a key press to the mode that runs:
// the one under the quit question, if it is asked. The apply flow's
// results, the cursor's blink and the prompts' own messages arrive here.
func (m *Model) forward(msg tea.Msg) tea.Cmd {
	switch m.modes.below(modeQuit) {
	case modeApply:
		return m.stepsUpdate(msg)
	case modeEdit:
		f, cmd, _ := m.form.update(msg)
		m.form = &f
		return cmd
	case modeFilter:
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return cmd
	case modeWrite:
		var cmd tea.Cmd
		m.dest, cmd = m.dest.Update(msg)
		return cmd
	}
	return nil
}
