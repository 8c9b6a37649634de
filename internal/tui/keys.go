package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// keyMap is every key of the fix view; it satisfies help.KeyMap.
type keyMap struct {
	Up, Down, PageUp, PageDown key.Binding
	Toggle, Force, All, None   key.Binding
	Tab, Filter, Edit          key.Binding
	DiffMode, Write, Apply     key.Binding
	Help, Quit, Abort, Back    key.Binding
	// owned is set when another manager owns fields of some fix: the
	// short help then offers f in the place of tab.
	owned bool
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Toggle:   key.NewBinding(key.WithKeys("space", "x"), key.WithHelp("space", "toggle fix")),
		// f, as on the confirm screen: take the fields anyway.
		Force:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "take fields")),
		All:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all fixes")),
		None:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "no fixes")),
		Tab:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "list/diff")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Edit:     key.NewBinding(key.WithKeys("enter", "e"), key.WithHelp("enter/e", "edit fix")),
		DiffMode: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "diff mode")),
		Write:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "write overlay…")),
		Apply:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "apply…")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		// q and esc quit (exit 1 while findings are left, else 0); ctrl+c
		// aborts (exit 130). Either asks first when edits would be dropped.
		Quit:  key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Abort: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "abort")),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter/quit")),
	}
}

// ShortHelp is the one-line help bar.
func (k keyMap) ShortHelp() []key.Binding {
	if k.owned {
		return []key.Binding{k.Toggle, k.Force, k.Edit, k.Apply, k.Help, k.Quit}
	}
	return []key.Binding{k.Toggle, k.Edit, k.Tab, k.Apply, k.Help, k.Quit}
}

// FullHelp is the `?` screen, by column.
func (k keyMap) FullHelp() [][]key.Binding {
	// Three columns: all of it fits 80 cells.
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Tab, k.DiffMode},
		{k.Toggle, k.Force, k.All, k.None, k.Filter, k.Edit},
		{k.Write, k.Apply, k.Help, k.Back, k.Quit, k.Abort},
	}
}

// stepKeys are the keys of the confirm, apply and result screens.
type stepKeys struct {
	Confirm, Force, Back, Quit key.Binding
}

func (k stepKeys) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, b := range []key.Binding{k.Confirm, k.Force, k.Back, k.Quit} {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}

func (k stepKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// formKeys are the edit form's keys.
type formKeys []key.Binding

func newFormKeys() formKeys {
	return formKeys{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next/save")),
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab/↑↓", "field")),
		key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

func (k formKeys) ShortHelp() []key.Binding  { return k }
func (k formKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k} }

// promptKeys are the keys of the `w` prompt.
type promptKeys []key.Binding

func newPromptKeys() promptKeys {
	return promptKeys{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "write")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

func (k promptKeys) ShortHelp() []key.Binding  { return k }
func (k promptKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k} }

// Each mode's keys draw the help line.
var (
	_ help.KeyMap = keyMap{}
	_ help.KeyMap = stepKeys{}
	_ help.KeyMap = formKeys{}
	_ help.KeyMap = promptKeys{}
	_ help.KeyMap = browserKeys{}
)
