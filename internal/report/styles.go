package report

import (
	"charm.land/lipgloss/v2"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Styles holds every style of the text output, in one place. The zero
// value (Plain) renders no escape codes at all.
type Styles struct {
	on                           bool
	critical, high, medium, low  lipgloss.Style
	fixed, planned, other, title lipgloss.Style
	added, removed, hunk, header lipgloss.Style
}

// NewStyles returns coloured styles when color is true, plain ones
// otherwise. Only the 16 basic ANSI colours are used, so the terminal's
// own light or dark theme decides how they look.
func NewStyles(color bool) Styles {
	if !color {
		return Styles{}
	}
	s := lipgloss.NewStyle()
	return Styles{
		on:       true,
		critical: s.Foreground(lipgloss.BrightWhite).Background(lipgloss.Red).Bold(true),
		high:     s.Foreground(lipgloss.Red).Bold(true),
		medium:   s.Foreground(lipgloss.Yellow),
		low:      s.Foreground(lipgloss.Cyan),
		fixed:    s.Foreground(lipgloss.Green),
		planned:  s.Foreground(lipgloss.Blue),
		other:    s.Faint(true),
		title:    s.Bold(true),
		added:    s.Foreground(lipgloss.Green),
		removed:  s.Foreground(lipgloss.Red),
		hunk:     s.Foreground(lipgloss.Cyan),
		header:   s.Bold(true),
	}
}

func (s Styles) render(st lipgloss.Style, text string) string {
	if !s.on {
		return text
	}
	return st.Render(text)
}

// Severity renders a severity name.
func (s Styles) Severity(sev rules.Severity, text string) string {
	switch sev {
	case rules.Critical:
		return s.render(s.critical, text)
	case rules.High:
		return s.render(s.high, text)
	case rules.Medium:
		return s.render(s.medium, text)
	}
	return s.render(s.low, text)
}

// Status renders a finding's status.
func (s Styles) Status(st rules.Status, text string) string {
	switch st {
	case rules.StatusFixed:
		return s.render(s.fixed, text)
	case rules.StatusPlanned:
		return s.render(s.planned, text)
	}
	return s.render(s.other, text)
}

// Title renders a heading.
func (s Styles) Title(text string) string { return s.render(s.title, text) }
