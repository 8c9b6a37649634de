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
	// Kill, when closed, ends the program at once, restoring the terminal
	// (a second SIGINT); nil never does.
	Kill <-chan struct{}
}

// interruptMsg tells the view SIGINT or SIGTERM arrived: the caller's
// context was cancelled.
type interruptMsg struct{}

// Run shows the model on the terminal's alternate screen until the user
// quits, applies or writes, and says how it ended. The caller handles
// SIGINT and SIGTERM by cancelling ctx: the view is told, so a rollout in
// progress is rolled back (its context is ctx's) and shown before the view
// ends, instead of the program being killed under it.
func Run(ctx context.Context, m tea.Model, t Terminal) error {
	pctx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	opts := []tea.ProgramOption{tea.WithContext(pctx), tea.WithInput(t.In), tea.WithOutput(t.Out), tea.WithoutSignalHandler()}
	if !t.Color {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	p := tea.NewProgram(traceFirstFrame(m), opts...)
	go func() {
		select {
		case <-ctx.Done():
			p.Send(interruptMsg{})
		case <-pctx.Done():
			return
		}
		select {
		case <-t.Kill:
			kill()
		case <-pctx.Done():
		}
	}()
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
