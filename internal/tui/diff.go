package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// diffMode is how the diff pane shows the plan.
type diffMode int

const (
	diffCombined   diffMode = iota // every selected fix, the focused one's lines highlighted
	diffFocused                    // only the focused rule's fix
	diffSideBySide                 // before | after, when the terminal is wide enough
)

func (d diffMode) String() string {
	return [...]string{"combined", "focused fix", "side by side"}[d]
}

// sideBySideMin is the narrowest pane that shows two readable columns.
const sideBySideMin = 80

// diffPane is the right (or lower) pane: a scrollable diff.
type diffPane struct {
	vp   viewport.Model
	mode diffMode
	// combined and focused are the unified diffs; highlight holds the
	// indices of the combined diff's lines that are the focused rule's
	// changes (see highlights).
	combined, focused string
	highlight         map[int]bool
}

func newDiffPane() diffPane {
	return diffPane{vp: viewport.New()}
}

// next cycles the diff mode; side by side only when there is room.
func (d *diffPane) next(width int) {
	d.mode++
	if d.mode == diffSideBySide && width < sideBySideMin {
		d.mode++
	}
	if d.mode > diffSideBySide {
		d.mode = diffCombined
	}
	if d.mode == diffFocused {
		// The focused fix is short: from its notes, at the top.
		d.vp.SetYOffset(0)
	}
}

// set gives the pane its diffs and re-renders.
func (d *diffPane) set(combined, focused string, st styles) {
	keep := d.vp.YOffset()
	if d.mode != diffCombined && focused != d.focused {
		keep = 0 // another fix: from its notes, at the top
	}
	d.combined, d.focused = combined, focused
	d.highlight = highlights(combined, focused)
	d.render(st)
	d.vp.SetYOffset(keep)
	// Bring the focused fix's first changed line into view.
	if d.mode == diffCombined && len(d.highlight) > 0 {
		row := 0 // on screen: a note may take several rows
		for i, l := range strings.Split(combined, "\n") {
			if d.highlight[i] {
				if row < d.vp.YOffset() || row >= d.vp.YOffset()+d.vp.Height() {
					d.vp.SetYOffset(max(row-2, 0))
				}
				break
			}
			row += len(d.rows(l, false, st))
		}
	}
}

// highlights finds the focused fix's changed lines in the combined diff
// and returns their line indices there. Both are unified diffs of whole
// objects (plan.Object.Diff); lines are matched object by object (the
// "+++ hardened/NS/KIND/NAME" header) and in order, each run of
// consecutive changed lines where it appears whole, so a line that several
// fixes share ("+            port: http" of two probes) is marked only
// where the focused fix's run has it. A run another fix's lines interleave
// with (fields of one securityContext) is matched line by line, still in
// order.
func highlights(combined, focused string) map[int]bool {
	out := map[int]bool{}
	runs := map[string][][]string{} // object header → runs of changed lines
	header := ""
	var run []string
	flush := func() {
		if len(run) > 0 {
			runs[header] = append(runs[header], run)
			run = nil
		}
	}
	for _, l := range strings.Split(focused, "\n") {
		switch {
		case strings.HasPrefix(l, "+++ "):
			flush()
			header = l
		case changed(l):
			run = append(run, l)
		default:
			flush()
		}
	}
	flush()
	lines := strings.Split(combined, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "+++ ") || len(runs[lines[i]]) == 0 {
			continue
		}
		end := i + 1 // the object's section: up to the next object's "--- "
		for end < len(lines) && !strings.HasPrefix(lines[end], "--- ") {
			end++
		}
		from := i + 1
		for _, r := range runs[lines[i]] {
			from = mark(lines[:end], from, r, out)
		}
		i = end - 1
	}
	return out
}

// mark marks run in lines from index from on: where it appears whole,
// else each line at its next occurrence. It returns where the next run's
// search starts.
func mark(lines []string, from int, run []string, out map[int]bool) int {
	for i := from; i+len(run) <= len(lines); i++ {
		if slices.Equal(lines[i:i+len(run)], run) {
			for j := range run {
				out[i+j] = true
			}
			return i + len(run)
		}
	}
	next := from
	for _, l := range run {
		for i := next; i < len(lines); i++ {
			if lines[i] == l {
				out[i] = true
				next = i + 1
				break
			}
		}
	}
	return next
}

// resize sets the inner size.
func (d *diffPane) resize(width, height int, st styles) {
	d.vp.SetWidth(width)
	d.vp.SetHeight(height)
	if d.mode == diffSideBySide && width < sideBySideMin {
		d.mode = diffCombined
	}
	d.render(st)
}

func (d *diffPane) title() string {
	return "diff · " + d.mode.String()
}

func (d *diffPane) render(st styles) {
	src := d.combined
	if d.mode == diffFocused {
		src = d.focused
	}
	if strings.TrimSpace(src) == "" {
		msg := "no change selected: space picks a fix"
		if d.mode == diffFocused {
			msg = "the focused rule changes nothing (report only, or not selected)"
		}
		d.vp.SetContent(st.subtle.Render(msg))
		return
	}
	var lines []string
	if d.mode == diffSideBySide {
		lines = sideBySide(src, d.vp.Width(), st)
	} else {
		for i, l := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
			lines = append(lines, d.rows(l, d.mode == diffCombined && d.highlight[i], st)...)
		}
	}
	d.vp.SetContentLines(lines)
}

// changed reports whether a unified diff line adds or removes content.
func changed(l string) bool {
	return (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---")
}

// rows are the screen rows of one line: a fix's note wraps to the pane's
// width (its sources must all show), continued under "#   "; a diff line is
// one row, cut by the pane. hl marks the focused fix's line.
func (d *diffPane) rows(l string, hl bool, st styles) []string {
	if !strings.HasPrefix(l, "#") || d.vp.Width() < 20 {
		return []string{d.style(l, hl, st)}
	}
	style := st.subtle
	if strings.Contains(l, ": warning: ") {
		style = st.warn
	}
	wrapped := strings.Split(ansi.Wrap(termsafe.String(l), d.vp.Width()-4, " "), "\n")
	out := make([]string, len(wrapped))
	for i, w := range wrapped {
		if i > 0 {
			w = "#   " + w
		}
		out[i] = style.Render(w)
	}
	return out
}

// style escapes one diff line and colours it; the focused rule's changed
// lines (hl) stand out in the combined view.
func (d *diffPane) style(l string, hl bool, st styles) string {
	body := termsafe.String(l)
	switch {
	case strings.HasPrefix(l, "#"):
		return note(body, st)
	case hl:
		return st.focusLine.Render(body)
	case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		return st.header.Render(body)
	case strings.HasPrefix(l, "+"):
		return st.added.Render(body)
	case strings.HasPrefix(l, "-"):
		return st.removed.Render(body)
	case strings.HasPrefix(l, "@@"):
		return st.hunk.Render(body)
	}
	return body
}

// note styles a fix's note line (already escaped): warnings stand out.
func note(body string, st styles) string {
	if strings.Contains(body, ": warning: ") {
		return st.warn.Render(body)
	}
	return st.subtle.Render(body)
}

// sideBySide lays a unified diff out as before | after: context on both
// sides, a run of removals beside the additions that replace it.
func sideBySide(diff string, width int, st styles) []string {
	col := max((width-3)/2, 10)
	cell := func(s string, style func(...string) string) string {
		s = ansi.Truncate(termsafe.String(s), col, "…")
		pad := strings.Repeat(" ", max(col-ansi.StringWidth(s), 0))
		if style != nil {
			return style(s) + pad
		}
		return s + pad
	}
	var out, dels, adds []string
	flush := func() {
		for i := 0; i < max(len(dels), len(adds)); i++ {
			left, right := cell("", nil), cell("", nil)
			if i < len(dels) {
				left = cell(dels[i], st.removed.Render)
			}
			if i < len(adds) {
				right = cell(adds[i], st.added.Render)
			}
			out = append(out, left+" │ "+right)
		}
		dels, adds = nil, nil
	}
	for _, l := range strings.Split(strings.TrimRight(diff, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "#"): // a fix's note: across both columns
			flush()
			out = append(out, note(ansi.Truncate(termsafe.String(l), width, "…"), st))
		case strings.HasPrefix(l, "---"):
			flush()
			out = append(out, st.header.Render(ansi.Truncate(termsafe.String(strings.TrimPrefix(l, "--- ")), width, "…")))
		case strings.HasPrefix(l, "+++"):
			out = append(out, st.header.Render(ansi.Truncate(termsafe.String("→ "+strings.TrimPrefix(l, "+++ ")), width, "…")))
		case strings.HasPrefix(l, "@@"):
			flush()
			out = append(out, st.hunk.Render(ansi.Truncate(termsafe.String(l), width, "…")))
		case strings.HasPrefix(l, "-"):
			dels = append(dels, l)
		case strings.HasPrefix(l, "+"):
			adds = append(adds, l)
		default:
			flush()
			out = append(out, cell(l, nil)+" │ "+cell(l, nil))
		}
	}
	flush()
	return out
}

// position is for the pane's title: how far it is scrolled, when it scrolls.
func (d *diffPane) position() string {
	total := d.vp.TotalLineCount()
	if total <= d.vp.Height() {
		return ""
	}
	return fmt.Sprintf(" %d%%", int(d.vp.ScrollPercent()*100))
}
