package tui

import (
	"image/color"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// styles holds every style of the TUI, in one place, for a light or a dark
// background. Colours are dropped by the program's colour profile under
// NO_COLOR or --color=never; bold, faint and reverse remain, so the cursor
// and the focused lines stay visible.
type styles struct {
	title, subtle, faint, bold      lipgloss.Style
	critical, high, medium, low     lipgloss.Style
	cursor, check, manual, category lipgloss.Style
	pane, focusedPane               lipgloss.Style
	added, removed, hunk, header    lipgloss.Style
	focusLine                       lipgloss.Style
	ok, warn, bad                   lipgloss.Style
	help                            help.Styles
	bar                             color.Color
}

func newStyles(dark bool) styles {
	ld := lipgloss.LightDark(dark)
	s := lipgloss.NewStyle()
	accent := ld(lipgloss.Color("#5A56E0"), lipgloss.Color("#7D79F6"))
	green := ld(lipgloss.Color("#1A7F37"), lipgloss.Color("#3FB950"))
	red := ld(lipgloss.Color("#CF222E"), lipgloss.Color("#F85149"))
	yellow := ld(lipgloss.Color("#9A6700"), lipgloss.Color("#D29922"))
	cyan := ld(lipgloss.Color("#0969DA"), lipgloss.Color("#58A6FF"))
	gray := ld(lipgloss.Color("#6E7781"), lipgloss.Color("#8B949E"))
	border := ld(lipgloss.Color("#D0D7DE"), lipgloss.Color("#30363D"))
	return styles{
		title:       s.Bold(true).Foreground(accent),
		subtle:      s.Foreground(gray),
		faint:       s.Faint(true),
		bold:        s.Bold(true),
		critical:    s.Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(red),
		high:        s.Bold(true).Foreground(red),
		medium:      s.Foreground(yellow),
		low:         s.Foreground(cyan),
		cursor:      s.Reverse(true),
		check:       s.Foreground(green).Bold(true),
		manual:      s.Foreground(gray).Italic(true),
		category:    s.Bold(true).Foreground(gray).Underline(true),
		pane:        s.Foreground(border),
		focusedPane: s.Foreground(accent),
		added:       s.Foreground(green),
		removed:     s.Foreground(red),
		hunk:        s.Foreground(cyan),
		header:      s.Bold(true),
		focusLine:   s.Bold(true).Reverse(true),
		ok:          s.Foreground(green).Bold(true),
		warn:        s.Foreground(yellow),
		bad:         s.Foreground(red).Bold(true),
		help:        help.DefaultStyles(dark),
		bar:         accent,
	}
}

// badge renders a fixed-width severity badge.
func (st styles) badge(sev rules.Severity) string {
	text := map[rules.Severity]string{rules.Critical: "CRIT", rules.High: "HIGH", rules.Medium: "MED ", rules.Low: "LOW "}[sev]
	switch sev {
	case rules.Critical:
		return st.critical.Render(text)
	case rules.High:
		return st.high.Render(text)
	case rules.Medium:
		return st.medium.Render(text)
	}
	return st.low.Render(text)
}

// owner styles an owner badge: held fixes stand out, forced ones warn,
// fields taken from one-off edits stay quiet.
func (st styles) owner(o ownership) lipgloss.Style {
	switch {
	case o.held:
		return st.bad
	case o.forced:
		return st.warn
	}
	for _, c := range o.owners {
		if !c.Class.Takes() {
			return st.warn // not chosen yet; held once chosen
		}
	}
	return st.subtle
}

// cursorLine marks the line under the cursor across the whole width: in
// reverse video in the focused pane, bold in the other, its own colours
// dropped so the mark reads on any background.
func (st styles) cursorLine(line string, width int, focused bool) string {
	line = ansi.Strip(line)
	line += strings.Repeat(" ", max(width-ansi.StringWidth(line), 0))
	if focused {
		return st.cursor.Render(line)
	}
	return st.bold.Render(line)
}

// score colours a 0–100 score.
func (st styles) score(n int) lipgloss.Style {
	switch {
	case n >= 80:
		return st.ok
	case n >= 50:
		return st.warn
	}
	return st.bad
}

// box draws a rounded box with its title in the top border, saving a
// row for content on small terminals.
func (st styles) box(title, content string, innerW, innerH int, focused bool) string {
	border := st.pane
	if focused {
		border = st.focusedPane
	}
	top := "─"
	if title != "" {
		title = ansi.Truncate(title, innerW-2, "…")
		top = "─ " + st.bold.Render(title) + " "
	}
	top += strings.Repeat("─", max(innerW-ansi.StringWidth(top), 0))
	lines := strings.Split(content, "\n")
	out := []string{border.Render("╭") + top + border.Render("╮")}
	for i := range innerH {
		l := ""
		if i < len(lines) {
			l = ansi.Truncate(lines[i], innerW, "…")
		}
		out = append(out, border.Render("│")+l+strings.Repeat(" ", max(innerW-ansi.StringWidth(l), 0))+border.Render("│"))
	}
	out = append(out, border.Render("╰"+strings.Repeat("─", innerW)+"╯"))
	return strings.Join(out, "\n")
}
