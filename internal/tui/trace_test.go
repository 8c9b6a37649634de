package tui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// screen is a model whose view is empty until it knows the window's size,
// as Model's is.
type screen struct{ width int }

func (s screen) Init() tea.Cmd { return nil }
func (s screen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m, ok := msg.(tea.WindowSizeMsg); ok {
		s.width = m.Width
	}
	return s, nil
}
func (s screen) View() tea.View {
	if s.width == 0 {
		return tea.NewView("")
	}
	return tea.NewView(strings.Repeat("x", s.width))
}

func TestTraceFirstFrameWritesTheFirstFrameWithContent(t *testing.T) {
	if m := traceFirstFrame(screen{}); m != (screen{}) {
		t.Fatalf("without %s the model is wrapped: %T", traceEnv, m)
	}
	path := filepath.Join(t.TempDir(), "frame")
	t.Setenv(traceEnv, path)
	m := traceFirstFrame(screen{})
	if m.View().Content != "" {
		t.Fatal("an empty first view")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("an empty frame was traced")
	}
	before := time.Now()
	m, _ = m.Update(tea.WindowSizeMsg{Width: 3, Height: 2})
	if got := m.View().Content; got != "xxx" {
		t.Fatalf("the view is not the model's: %q", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSuffix(string(data), "\n"), 10, 64)
	if err != nil || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("trace %q: %v", data, err)
	}
	if at := time.Unix(0, ns); at.Before(before) || at.After(time.Now()) {
		t.Errorf("traced at %s, not when the frame was rendered", at)
	}
	os.Remove(path)
	m.View()
	if _, err := os.Stat(path); err == nil {
		t.Error("a second frame was traced")
	}
}
