package report

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// ProgressBar renders one line of progress for a terminal: a bar of width
// cells, the count and what is being done. Colour comes from st.
func ProgressBar(done, total, width int, label string, st Styles) string {
	if total < 1 {
		total = 1
	}
	done = min(max(done, 0), total)
	filled := width * done / total
	bar := st.render(st.fixed, strings.Repeat("█", filled)) + st.render(st.other, strings.Repeat("░", width-filled))
	return fmt.Sprintf("%s %d/%d %s", bar, done, total, termsafe.String(label))
}

// Progress shows the progress of a run over several workloads (audit
// --fix) on a stream of its own (stderr): on a terminal, a ProgressBar
// redrawn in place on one line; otherwise plain lines, as a CI log keeps
// them. Every label and message is escaped (termsafe).
type Progress struct {
	out     io.Writer
	tty     bool
	total   int
	current int
	label   string
	styles  Styles
}

// NewProgress is a Progress over total workloads on out; tty says out is
// a terminal (redrawn in place).
func NewProgress(out io.Writer, total int, st Styles, tty bool) *Progress {
	return &Progress{out: out, total: total, styles: st, tty: tty}
}

// Step starts workload i (from 0), named label.
func (p *Progress) Step(i int, label string) {
	p.current, p.label = i, label
	if p.tty {
		p.draw(label)
		return
	}
	fmt.Fprintf(p.out, "[%d/%d] %s\n", i+1, p.total, termsafe.String(label))
}

// Status is a rollout status line of the current workload.
func (p *Progress) Status(msg string) {
	msg = strings.TrimRight(msg, "\n")
	if p.tty {
		p.draw(p.label + ": " + msg)
		return
	}
	fmt.Fprintln(p.out, "  "+termsafe.String(msg))
}

// Println writes a line above the bar.
func (p *Progress) Println(msg string) {
	p.Clear()
	fmt.Fprintln(p.out, termsafe.String(msg))
	if p.tty {
		p.draw(p.label)
	}
}

// draw redraws the bar with label, cut to the terminal's width (80
// columns when unknown) so that it stays on one line.
func (p *Progress) draw(label string) {
	width := 80
	if f, ok := p.out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	// Keep it on one line: a wrapped line cannot be redrawn in place.
	avail := max(width-1-20-len(fmt.Sprintf(" %d/%d ", p.current, p.total)), 10)
	if r := []rune(label); len(r) > avail {
		label = string(r[:avail-1]) + "…"
	}
	fmt.Fprint(p.out, "\r\x1b[2K"+ProgressBar(p.current, p.total, 20, label, p.styles))
}

// Clear erases the bar's line, for a line of output in its place.
func (p *Progress) Clear() {
	if p.tty {
		fmt.Fprint(p.out, "\r\x1b[2K")
	}
}

// Done draws the full bar and ends its line; nothing when not on a
// terminal or when there was nothing to do.
func (p *Progress) Done() {
	if p.tty && p.total > 0 {
		p.current = p.total
		p.draw("done")
		fmt.Fprintln(p.out)
	}
}
