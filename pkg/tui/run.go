package tui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// Terminal is where the TUI draws and reads keys.
type Terminal struct {
	In  io.Reader
	Out io.Writer // stderr: stdout stays for machine output
	// Color false drops colours (NO_COLOR, --color=never); bold and
	// reverse video remain.
	Color bool
}

// Run shows the model on the terminal's alternate screen until the user
// quits, applies or writes, and says how it ended.
func Run(ctx context.Context, m tea.Model, t Terminal) error {
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(t.In), tea.WithOutput(t.Out)}
	if !t.Color {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
