package tui

import (
	"context"
	"fmt"
	"slices"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// keyMsg is the key press of a key by name: "space", "enter", "esc",
// "tab", "ctrl+c", or one character.
func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
}

// send hands messages to the model in order, key names as keyMsg reads
// them; a func(*Model) is run on the fix view instead. The commands the
// messages return are not run.
func send(m tea.Model, msgs ...any) {
	for _, msg := range msgs {
		switch msg := msg.(type) {
		case string:
			m.Update(keyMsg(msg))
		case func(*Model):
			msg(m.(*Model))
		default:
			m.Update(msg)
		}
	}
}

// focusFirst moves the list's focus to the first rule ok accepts, as
// j/k do.
func focusFirst(t *testing.T, ok func(item) bool) func(*Model) {
	return func(m *Model) {
		t.Helper()
		for n, i := range m.list.visible() {
			if ok(m.list.items[i]) {
				m.list.cursor = n
				m.refocus()
				return
			}
		}
		t.Fatal("no rule in the list fits")
	}
}

// Steps of the apply flow that no key makes: the engine's answers.
var (
	dryRunPassed = dryRunMsg{}
	rolledOut    = commitMsg{out: &apply.Outcome{}}
)

// Every mode × key → the mode the fix view is in next (the whole stack,
// the current mode last), or the view ended. The start is reached by the
// keys and messages of `to` from a view just opened, 80×24.
func TestModeTransitions(t *testing.T) {
	edited := []any{"space"} // replicas off: quitting would drop an edit
	toConfirm := []any{"y", dryRunPassed}
	pdb := focusFirst(t, func(it item) bool { return it.meta.ID == "pdb" })
	reportOnly := focusFirst(t, func(it item) bool { return !it.fixable })
	cases := []struct {
		name string
		to   []any
		key  string
		want stack[mode]
		done bool
	}{
		{"list: tab focuses the diff", nil, "tab", stack[mode]{modeDiff}, false},
		{"list: / opens the filter", nil, "/", stack[mode]{modeList, modeFilter}, false},
		{"list: e opens pdb's form", []any{pdb}, "e", stack[mode]{modeList, modeEdit}, false},
		{"list: e on a report-only rule stays", []any{reportOnly}, "e", stack[mode]{modeList}, false},
		{"list: w opens the write prompt", nil, "w", stack[mode]{modeList, modeWrite}, false},
		{"list: w with no fix stays", []any{"n"}, "w", stack[mode]{modeList}, false},
		{"list: y opens the apply flow", nil, "y", stack[mode]{modeList, modeApply}, false},
		{"list: y with no fix stays", []any{"n"}, "y", stack[mode]{modeList}, false},
		{"list: ? is help, not a mode", nil, "?", stack[mode]{modeList}, false},
		{"list: q with no edit ends", nil, "q", stack[mode]{modeList}, true},
		{"list: esc with no edit ends", nil, "esc", stack[mode]{modeList}, true},
		{"list: q with an edit asks", edited, "q", stack[mode]{modeList, modeQuit}, false},
		{"list: ctrl+c with an edit asks", edited, "ctrl+c", stack[mode]{modeList, modeQuit}, false},
		{"list: esc clears a kept filter first", []any{"/", "p", "enter"}, "esc", stack[mode]{modeList}, false},

		{"diff: tab focuses the list", []any{"tab"}, "tab", stack[mode]{modeList}, false},
		{"diff: j scrolls, stays", []any{"tab"}, "j", stack[mode]{modeDiff}, false},
		{"diff: / opens the filter over it", []any{"tab"}, "/", stack[mode]{modeDiff, modeFilter}, false},
		{"diff: y opens the apply flow over it", []any{"tab"}, "y", stack[mode]{modeDiff, modeApply}, false},
		{"diff: q with an edit asks", []any{"space", "tab"}, "q", stack[mode]{modeDiff, modeQuit}, false},

		{"filter: enter keeps it, back", []any{"/", "p"}, "enter", stack[mode]{modeList}, false},
		{"filter: esc clears it, back", []any{"/", "p"}, "esc", stack[mode]{modeList}, false},
		{"filter: q is typed", []any{"/"}, "q", stack[mode]{modeList, modeFilter}, false},
		{"filter over the diff: esc back to the diff", []any{"tab", "/"}, "esc", stack[mode]{modeDiff}, false},

		{"edit: esc drops it", []any{pdb, "e"}, "esc", stack[mode]{modeList}, false},
		{"edit: q is typed", []any{pdb, "e"}, "q", stack[mode]{modeList, modeEdit}, false},
		{"edit: ctrl+s saves", []any{pdb, "e", "1"}, "ctrl+s", stack[mode]{modeList}, false},
		{"edit: a refused value keeps it open", []any{pdb, "e", "x"}, "ctrl+s", stack[mode]{modeList, modeEdit}, false},

		{"write: esc back", []any{"w"}, "esc", stack[mode]{modeList}, false},
		{"write: q is typed", []any{"w"}, "q", stack[mode]{modeList, modeWrite}, false},
		{"write: enter writes and ends", []any{"w"}, "enter", stack[mode]{modeList}, true},

		{"dry-run: y waits for it", []any{"y"}, "y", stack[mode]{modeList, modeApply}, false},
		{"dry-run: esc cancels it", []any{"y"}, "esc", stack[mode]{modeList}, false},
		{"confirm: esc back to the list", toConfirm, "esc", stack[mode]{modeList}, false},
		{"confirm: esc back to the diff", []any{"tab", "y", dryRunPassed}, "esc", stack[mode]{modeDiff}, false},
		{"confirm: y applies", toConfirm, "y", stack[mode]{modeList, modeApply}, false},
		{"confirm: q with no edit ends", toConfirm, "q", stack[mode]{modeList, modeApply}, true},
		{"confirm: q with an edit asks", []any{"space", "y", dryRunPassed}, "q", stack[mode]{modeList, modeApply, modeQuit}, false},
		{"applying: q does nothing", []any{"y", dryRunPassed, "y"}, "q", stack[mode]{modeList, modeApply}, false},
		{"applying: esc does nothing", []any{"y", dryRunPassed, "y"}, "esc", stack[mode]{modeList, modeApply}, false},
		{"result: enter ends", []any{"y", dryRunPassed, "y", rolledOut}, "enter", stack[mode]{modeList, modeApply}, true},
		{"result: x does nothing", []any{"y", dryRunPassed, "y", rolledOut}, "x", stack[mode]{modeList, modeApply}, false},

		{"quit question: n stays", []any{"space", "q"}, "n", stack[mode]{modeList}, false},
		{"quit question: esc stays", []any{"space", "q"}, "esc", stack[mode]{modeList}, false},
		{"quit question: x is no answer", []any{"space", "q"}, "x", stack[mode]{modeList, modeQuit}, false},
		{"quit question: y ends", []any{"space", "q"}, "y", stack[mode]{modeList}, true},
		{"quit question: ctrl+c ends", []any{"space", "q"}, "ctrl+c", stack[mode]{modeList}, true},
		{"quit question on confirm: n back to it", []any{"space", "y", dryRunPassed, "q"}, "n", stack[mode]{modeList, modeApply}, false},
		{"quit question on confirm: y ends", []any{"space", "y", dryRunPassed, "q"}, "y", stack[mode]{modeList, modeApply}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eng := newEngine(t)
			eng.release = make(chan struct{}) // the rollout waits: its ctrl+c is the test's
			t.Cleanup(func() { close(eng.release) })
			m := newModel(t, eng)
			send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
			send(m, c.to...)
			send(m, c.key)
			if !slices.Equal(m.modes, c.want) || m.done != c.done {
				t.Errorf("modes %v, ended %v; want %v, ended %v", m.modes, m.done, c.want, c.done)
			}
			checkModeInvariants(t, m)
		})
	}
}

// checkModeInvariants: each sub-model is set exactly while its mode is
// open, and the panes' mode is the base.
func checkModeInvariants(t *testing.T, m *Model) {
	t.Helper()
	if b := m.modes[0]; b != modeList && b != modeDiff {
		t.Errorf("the base mode is %v", b)
	}
	if (m.form != nil) != m.modes.has(modeEdit) {
		t.Errorf("form set %v, modes %v", m.form != nil, m.modes)
	}
	if (m.steps != nil) != m.modes.has(modeApply) {
		t.Errorf("steps set %v, modes %v", m.steps != nil, m.modes)
	}
	if (m.quitting != nil) != m.modes.has(modeQuit) {
		t.Errorf("quit question set %v, modes %v", m.quitting != nil, m.modes)
	}
}

// Within a mode the keys act on its own part: ↑/↓ move the list's focus
// on the list, scroll the diff when it has the focus, and move the focus
// through what the filter shows while typing it.
func TestModeKeysActOnTheirPart(t *testing.T) {
	m := newModel(t, newEngine(t))
	send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	send(m, "j")
	if m.list.cursor != 1 {
		t.Fatalf("j on the list: cursor %d", m.list.cursor)
	}
	at := m.diff.vp.YOffset() // the focused fix's lines
	send(m, "tab", "j", "j")
	if m.list.cursor != 1 || m.diff.vp.YOffset() != at+2 {
		t.Errorf("j on the diff: list cursor %d, diff offset %d, was %d", m.list.cursor, m.diff.vp.YOffset(), at)
	}
	send(m, "tab", "/", "down")
	if m.list.cursor != 2 || m.filter.Value() != "" {
		t.Errorf("down while filtering: cursor %d, filter %q", m.list.cursor, m.filter.Value())
	}
	send(m, "j")
	if m.filter.Value() != "j" {
		t.Errorf("j while filtering typed %q", m.filter.Value())
	}
}

// The browser's modes: / opens the filter, enter or esc close it; the
// fix view opens over whatever mode the browser is in and returns to it;
// a signal ends the browser, through the fix view when one is open (it
// rolls back first when it is applying: TestSignalDuringRollout).
func TestBrowserModeTransitions(t *testing.T) {
	eng := newEngine(t)
	a := audit.New(rules.Selection{})
	if _, err := a.Add(context.Background(), []*inspect.Snapshot{eng.snap}); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	child := func() openedMsg {
		m := newModel(t, eng)
		return openedMsg{m: m}
	}
	cases := []struct {
		name string
		to   []any
		msg  any
		want stack[browseMode]
	}{
		{"list: / opens the filter", nil, "/", stack[browseMode]{browseList, browseFilter}},
		{"filter: enter closes it", []any{"/", "w"}, "enter", stack[browseMode]{browseList}},
		{"filter: esc closes it", []any{"/", "w"}, "esc", stack[browseMode]{browseList}},
		{"filter: q is typed", []any{"/"}, "q", stack[browseMode]{browseList, browseFilter}},
		{"list: the fix view opens", nil, child(), stack[browseMode]{browseList, browseFix}},
		{"filter: the fix view opens over it", []any{"/"}, child(), stack[browseMode]{browseList, browseFilter, browseFix}},
		{"fix view: q there comes back", []any{child()}, "q", stack[browseMode]{browseList}},
		{"fix view over the filter: q back to it", []any{"/", child()}, "q", stack[browseMode]{browseList, browseFilter}},
		{"fix view: / is its own", []any{child()}, "/", stack[browseMode]{browseList, browseFix}},
		{"list: a failed open stays", nil, openedMsg{err: context.Canceled}, stack[browseMode]{browseList}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBrowser(context.Background(), rep, "harden-local", nil, nil)
			send(b, tea.WindowSizeMsg{Width: 80, Height: 24})
			send(b, c.to...)
			send(b, c.msg)
			if !slices.Equal(b.modes, c.want) {
				t.Errorf("modes %v, want %v", b.modes, c.want)
			}
			if (b.child != nil) != b.modes.has(browseFix) {
				t.Errorf("fix view set %v, modes %v", b.child != nil, b.modes)
			}
		})
	}

	for _, c := range []struct {
		name    string
		to      []any
		fixView bool
	}{
		{"on the list", nil, false},
		{"while filtering", []any{"/"}, false},
		{"in a fix view", []any{child()}, true},
		{"in a fix view over the filter", []any{"/", child()}, true},
	} {
		b := NewBrowser(context.Background(), rep, "harden-local", nil, nil)
		send(b, tea.WindowSizeMsg{Width: 80, Height: 24})
		send(b, c.to...)
		_, cmd := b.Update(interruptMsg{})
		out, _ := b.Interrupted()
		if cmd == nil || !isQuit(cmd()) || (out != nil) != c.fixView {
			t.Errorf("a signal %s: the browser ends %v, the fix view's outcome %+v", c.name, cmd != nil && isQuit(cmd()), out)
		}
	}
}

// isQuit reports whether msg ends the program.
func isQuit(msg tea.Msg) bool {
	_, ok := msg.(tea.QuitMsg)
	return ok
}

// The stack's base stays; below looks through the modes it skips.
func TestStack(t *testing.T) {
	s := stack[mode]{modeList}
	s.pop()
	if !slices.Equal(s, stack[mode]{modeList}) {
		t.Fatalf("pop removed the base: %v", s)
	}
	s.push(modeApply)
	s.push(modeQuit)
	if s.top() != modeQuit || s.below(modeQuit) != modeApply || !s.has(modeApply) || s.has(modeEdit) {
		t.Errorf("stack %v: top %v, below the question %v", s, s.top(), s.below(modeQuit))
	}
	s.pop()
	s.pop()
	if s.below(modeQuit) != modeList || fmt.Sprint(s) != "[list]" {
		t.Errorf("stack %v after two pops", s)
	}
}
