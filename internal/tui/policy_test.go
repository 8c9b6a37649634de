package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// The header names the policy file in use, and nothing without one.
func TestHeaderNamesPolicy(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if h := ansi.Strip(m.header()); strings.Contains(h, "policy") {
		t.Errorf("header without a policy file: %q", h)
	}
	m.w.Policy = ".harden.yaml"
	h := ansi.Strip(m.header())
	if !strings.Contains(h, "policy .harden.yaml") || !strings.Contains(h, "score ") {
		t.Errorf("header: %q", h)
	}
}
