package tui

import (
	"os"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"
)

// traceEnv names a file: when set, the UI writes into it the wall-clock
// time of its first frame with content, as Unix nanoseconds and a newline.
// hack/bench stamps the exec and measures from it to there.
const traceEnv = "HARDEN_TRACE_FIRST_FRAME"

// traceFirstFrame wraps m to write the first frame's time into the file
// $HARDEN_TRACE_FIRST_FRAME names; m itself when it is unset.
func traceFirstFrame(m tea.Model) tea.Model {
	if path := os.Getenv(traceEnv); path != "" {
		return &firstFrame{Model: m, path: path}
	}
	return m
}

// firstFrame is a model that notes when its first non-empty View is
// rendered (an empty one is drawn before the terminal's size is known).
type firstFrame struct {
	tea.Model
	path string
	done bool
}

func (f *firstFrame) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := f.Model.Update(msg)
	f.Model = m
	return f, cmd
}

func (f *firstFrame) View() tea.View {
	v := f.Model.View()
	if !f.done && v.Content != "" {
		f.done = true
		// A trace that cannot be written is the bench's problem, not the
		// user's: the bench reports the missing frame.
		_ = os.WriteFile(f.path, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)+"\n"), 0o644)
	}
	return v
}
