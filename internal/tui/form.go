package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// form edits one rule's fix parameters, those of --set (probe port and path, PDB
// maxUnavailable, runAsUser, requests…). Empty means the rule's default,
// derived from live data.
type form struct {
	rule   rules.Meta
	inputs []textinput.Model
	focus  int
	err    string
}

func newForm(m rules.Meta, current rules.Params, st styles) form {
	f := form{rule: m}
	for i, p := range m.Params {
		in := textinput.New()
		in.Prompt = ""
		in.Placeholder = "default"
		in.CharLimit = 253
		in.SetValue(current[p.Name])
		in.SetStyles(textinput.DefaultStyles(true))
		if i == 0 {
			in.Focus()
		}
		f.inputs = append(f.inputs, in)
	}
	return f
}

// params is what the form holds; empty fields are left out.
func (f form) params() rules.Params {
	out := rules.Params{}
	for i, p := range f.rule.Params {
		if v := strings.TrimSpace(f.inputs[i].Value()); v != "" {
			out[p.Name] = v
		}
	}
	return out
}

// update moves between fields and types into the focused one. done is true
// when the user submits (enter on the last field, or ctrl+s).
func (f form) update(msg tea.Msg) (form, tea.Cmd, bool) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "ctrl+s":
			return f, nil, true
		case "enter":
			if f.focus == len(f.inputs)-1 {
				return f, nil, true
			}
			return f, f.setFocus(f.focus + 1), false
		case "tab", "down":
			return f, f.setFocus((f.focus + 1) % len(f.inputs)), false
		case "shift+tab", "up":
			return f, f.setFocus((f.focus + len(f.inputs) - 1) % len(f.inputs)), false
		}
	}
	var cmd tea.Cmd
	f.inputs[f.focus], cmd = f.inputs[f.focus].Update(msg)
	return f, cmd, false
}

func (f *form) setFocus(i int) tea.Cmd {
	f.inputs[f.focus].Blur()
	f.focus = i
	return f.inputs[i].Focus()
}

func (f form) view(st styles, width, height int) string {
	lines := []string{st.bold.Render(f.rule.ID) + " " + st.subtle.Render(f.rule.Title)}
	labelW := 0
	for _, p := range f.rule.Params {
		labelW = max(labelW, len(p.Name))
	}
	for i, p := range f.rule.Params {
		f.inputs[i].SetWidth(max(width-labelW-6, 8))
		marker := "  "
		if i == f.focus {
			marker = st.title.Render("› ")
		}
		lines = append(lines, fmt.Sprintf("%s%-*s  %s", marker, labelW, p.Name, f.inputs[i].View()))
		if i == f.focus {
			lines = append(lines, "  "+st.subtle.Render(ansi.Truncate(p.Description, width-2, "…")))
		}
	}
	if f.err != "" {
		lines = append(lines, "", st.bad.Render(ansi.Truncate(f.err, width, "…")))
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}
