package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/pkg/termsafe"
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
	// changed lines of the focused rule's fix.
	combined, focused string
	highlight         map[string]bool
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
	d.highlight = map[string]bool{}
	for _, l := range strings.Split(focused, "\n") {
		if changed(l) {
			d.highlight[l] = true
		}
	}
	d.render(st)
	d.vp.SetYOffset(keep)
	// Bring the focused fix's first changed line into view.
	if d.mode == diffCombined && len(d.highlight) > 0 {
		row := 0 // on screen: a note may take several rows
		for _, l := range strings.Split(combined, "\n") {
			if d.highlight[l] {
				if row < d.vp.YOffset() || row >= d.vp.YOffset()+d.vp.Height() {
					d.vp.SetYOffset(max(row-2, 0))
				}
				break
			}
			row += len(d.rows(l, st))
		}
	}
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
		for _, l := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
			lines = append(lines, d.rows(l, st)...)
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
// one row, cut by the pane.
func (d *diffPane) rows(l string, st styles) []string {
	if !strings.HasPrefix(l, "#") || d.vp.Width() < 20 {
		return []string{d.style(l, st)}
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
// lines stand out in the combined view.
func (d *diffPane) style(l string, st styles) string {
	body := termsafe.String(l)
	switch {
	case strings.HasPrefix(l, "#"):
		return note(body, st)
	case d.mode == diffCombined && d.highlight[l]:
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
