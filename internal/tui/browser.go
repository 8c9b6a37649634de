package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// Opener reads one audited workload live and returns the engine of its
// fix view.
type Opener func(ctx context.Context, namespace, kind, name string) (Engine, Workload, error)

// Refresher audits the same scope again.
type Refresher func(ctx context.Context) (*audit.Report, error)

// row is one workload of the audit.
type row struct {
	ns string
	wl audit.Workload
}

// Browser lists an audit's workloads, worst score first; enter opens the
// fix view of one, and the audit is read again after fixes are applied.
type Browser struct {
	ctx     context.Context
	rep     *audit.Report
	rows    []row
	open    Opener
	refresh Refresher
	context string

	// modes is what the browser is doing, the current mode last; child
	// is set while the fix view is open (browseFix).
	modes  stack[browseMode]
	keys   browserKeys
	st     styles
	cursor int
	offset int
	filter textinput.Model
	status string
	busy   string

	child         *Model
	width, height int
	// interrupted is how the open fix view ended when SIGINT or SIGTERM
	// stopped the browser there, and interruptedW its workload.
	interrupted  *Outcome
	interruptedW Workload
	// aborted is set when ctrl+c ended the browser; quitting is set when
	// q came during a re-audit: the browser ends once it is in, so the
	// caller's exit code reads the report as it is now.
	aborted, quitting bool
	// auditing is set while the audit is read again.
	auditing bool
}

// Report is the audit as last read: after fixes were applied, the audit
// done again.
func (b *Browser) Report() *audit.Report { return b.rep }

// Aborted reports whether ctrl+c ended the browser (exit 130).
func (b *Browser) Aborted() bool { return b.aborted }

// Interrupted returns how the fix view open when SIGINT or SIGTERM
// arrived ended, and its workload; nil when none was open.
func (b *Browser) Interrupted() (*Outcome, Workload) { return b.interrupted, b.interruptedW }

type browserKeys struct {
	Up, Down, Open, Filter, Refresh, Quit key.Binding
}

func (k browserKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Refresh, k.Quit}
}
func (k browserKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// NewBrowser builds the audit browser.
func NewBrowser(ctx context.Context, rep *audit.Report, contextName string, open Opener, refresh Refresher) *Browser {
	b := &Browser{ctx: ctx, open: open, refresh: refresh, context: contextName, st: newStyles(true), modes: stack[browseMode]{browseList},
		keys: browserKeys{
			Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
			Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
			Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open fixes")),
			Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
			Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-audit")),
			Quit:    key.NewBinding(key.WithKeys("q", "esc", "ctrl+c"), key.WithHelp("q", "quit")),
		}}
	b.filter = textinput.New()
	b.filter.Prompt = "/"
	b.filter.Placeholder = "filter by namespace, name or rule"
	b.setReport(rep)
	return b
}

// setReport sorts the workloads of every namespace together, worst first.
func (b *Browser) setReport(rep *audit.Report) {
	b.rep, b.rows = rep, nil
	for _, n := range rep.Namespaces {
		for _, w := range n.Workloads {
			b.rows = append(b.rows, row{ns: n.Name, wl: w})
		}
	}
	sort.SliceStable(b.rows, func(i, j int) bool {
		if b.rows[i].wl.Score != b.rows[j].wl.Score {
			return b.rows[i].wl.Score < b.rows[j].wl.Score
		}
		return b.rows[i].ns+"/"+b.rows[i].wl.Name < b.rows[j].ns+"/"+b.rows[j].wl.Name
	})
}

// visible is the rows the filter lets through.
func (b *Browser) visible() []row {
	f := strings.ToLower(b.filter.Value())
	if f == "" {
		return b.rows
	}
	var out []row
	for _, r := range b.rows {
		hay := []string{r.ns, r.wl.Name, strings.ToLower(r.wl.Kind)}
		for _, x := range r.wl.Findings {
			hay = append(hay, x.Rule)
		}
		if strings.Contains(strings.ToLower(strings.Join(hay, " ")), f) {
			out = append(out, r)
		}
	}
	return out
}

// Messages of the browser's commands.
type (
	openedMsg struct {
		m   *Model
		err error
	}
	refreshedMsg struct {
		rep *audit.Report
		err error
	}
)

// Init asks for the background colour, like the fix view.
func (b *Browser) Init() tea.Cmd { return tea.RequestBackgroundColor }

// browseMode is what the browser is doing; see stack.
type browseMode int

const (
	browseList   browseMode = iota // the workloads list has the keys
	browseFilter                   // `/`: typing the filter
	browseFix                      // enter: one workload's fix view (b.child) has the screen
)

// Update handles the browser's own messages, then hands the rest to the
// current mode: the fix view, the filter prompt or the list. A resize
// and the background colour reach the open fix view too.
func (b *Browser) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		b.width, b.height = msg.Width, msg.Height
	case tea.BackgroundColorMsg:
		b.st = newStyles(msg.IsDark())
	case openedMsg:
		return b, b.opened(msg)
	case refreshedMsg:
		return b, b.refreshed(msg)
	case interruptMsg:
		if b.modes.top() != browseFix {
			return b, tea.Quit
		}
	}
	switch b.modes.top() {
	case browseFix:
		return b, b.childUpdate(msg)
	case browseFilter:
		return b, b.filterUpdate(msg)
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		return b, b.listKey(k)
	}
	return b, nil
}

// opened shows the fix view the Opener built, sized and styled as the
// browser, or says why it could not be opened.
func (b *Browser) opened(msg openedMsg) tea.Cmd {
	b.busy = ""
	if msg.err != nil {
		b.status = "cannot open: " + msg.err.Error()
		return nil
	}
	b.child = msg.m
	b.child.embedded = true
	b.child.st = b.st
	b.child.help.Styles = b.st.help
	b.child.Update(tea.WindowSizeMsg{Width: b.width, Height: b.height})
	b.modes.push(browseFix)
	return nil
}

// refreshed takes the audit read again; the browser ends now if q came
// while it was read.
func (b *Browser) refreshed(msg refreshedMsg) tea.Cmd {
	b.busy, b.auditing = "", false
	if msg.err != nil {
		b.status = "cannot re-audit: " + msg.err.Error()
	} else {
		b.setReport(msg.rep)
		b.status = "audited again"
	}
	if b.quitting {
		return tea.Quit
	}
	return nil
}

// childUpdate hands a message to the open fix view. When it ends, the
// browser ends too if a signal ended it; otherwise the list comes back,
// audited again if fixes were applied.
func (b *Browser) childUpdate(msg tea.Msg) tea.Cmd {
	_, cmd := b.child.Update(msg)
	switch {
	case !b.child.done:
		return cmd
	case b.child.interrupted:
		b.interrupted = &b.child.outcome
		b.interruptedW = b.child.w
		return tea.Quit
	}
	out := b.child.outcome
	if out.Written != "" {
		b.status = "wrote " + out.Written + ": kubectl kustomize " + out.Written + " builds it"
	}
	b.child = nil
	b.modes.pop()
	if out.Applied != nil {
		return b.reaudit()
	}
	return cmd
}

// filterUpdate types into the `/` prompt; enter keeps the filter, esc
// clears it, and either closes the prompt.
func (b *Browser) filterUpdate(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if ok && (k.String() == "enter" || k.String() == "esc") {
		b.modes.pop()
		b.filter.Blur()
		if k.String() == "esc" {
			b.filter.SetValue("")
		}
		return nil
	}
	var cmd tea.Cmd
	b.filter, cmd = b.filter.Update(msg)
	if ok {
		b.cursor = 0
	}
	return cmd
}

// listKey handles a key of the workloads list: esc clears a filter
// first; q, esc and ctrl+c quit.
func (b *Browser) listKey(k tea.KeyPressMsg) tea.Cmd {
	n := len(b.visible())
	switch {
	case k.String() == "esc" && b.filter.Value() != "":
		b.filter.SetValue("") // esc undoes the filter first
		b.cursor = 0
	case key.Matches(k, b.keys.Quit):
		return b.quit(k.String() == "ctrl+c")
	case key.Matches(k, b.keys.Up):
		b.cursor = max(b.cursor-1, 0)
	case key.Matches(k, b.keys.Down):
		b.cursor = min(b.cursor+1, max(n-1, 0))
	case key.Matches(k, b.keys.Filter):
		b.modes.push(browseFilter)
		return b.filter.Focus()
	case key.Matches(k, b.keys.Refresh):
		return b.reaudit()
	case key.Matches(k, b.keys.Open) && n > 0 && b.busy == "":
		return b.openFix(b.visible()[min(b.cursor, n-1)])
	}
	return nil
}

// quit ends the browser; abort is ctrl+c (exit 130). During a re-audit,
// q waits for it: the exit code needs the audit as it is now.
func (b *Browser) quit(abort bool) tea.Cmd {
	b.aborted = abort
	if b.auditing && !abort {
		b.quitting = true
		b.busy = "auditing again, then quitting…"
		return nil
	}
	return tea.Quit
}

// openFix reads workload r live and builds its fix view, in a command:
// an openedMsg comes back.
func (b *Browser) openFix(r row) tea.Cmd {
	b.busy = "reading " + strings.ToLower(r.wl.Kind) + "/" + r.wl.Name + "…"
	ctx, open := b.ctx, b.open
	return func() tea.Msg {
		eng, w, err := open(ctx, r.ns, r.wl.Kind, r.wl.Name)
		if err != nil {
			return openedMsg{err: err}
		}
		m, err := New(ctx, eng, w, nil, nil)
		return openedMsg{m, err}
	}
}

func (b *Browser) reaudit() tea.Cmd {
	b.busy, b.auditing = "auditing again…", true
	ctx := b.ctx
	return func() tea.Msg {
		rep, err := b.refresh(ctx)
		return refreshedMsg{rep, err}
	}
}

// View draws the open fix view, or the list.
func (b *Browser) View() tea.View {
	v := tea.NewView(b.Render())
	v.AltScreen = true
	v.WindowTitle = "kubectl harden audit"
	return v
}

// Render is the screen's content.
func (b *Browser) Render() string {
	if b.modes.top() == browseFix {
		return b.child.Render()
	}
	if b.width == 0 || b.height == 0 {
		return ""
	}
	q := termsafe.String
	st := b.st
	p := b.rep.Pending
	score := "score " + st.score(b.rep.Score).Render(fmt.Sprint(b.rep.Score))
	left := fmt.Sprintf("%s  %d namespace%s · %d workload%s  %s %s", st.title.Render("kubectl harden audit"), len(b.rep.Namespaces),
		plural(len(b.rep.Namespaces), "s"), b.rep.Workloads, plural(b.rep.Workloads, "s"), st.subtle.Render("ctx"), q(b.context))
	line1 := ansi.Truncate(left, b.width-ansi.StringWidth(score)-1, "…")
	line1 += strings.Repeat(" ", max(b.width-ansi.StringWidth(line1)-ansi.StringWidth(score), 1)) + score
	line2 := st.subtle.Render(fmt.Sprintf("pending: %d critical · %d high · %d medium · %d low", p.Critical, p.High, p.Medium, p.Low))
	header := []string{line1, ansi.Truncate(line2, b.width, "…")}
	if u := unreadLine(st, b.rep.Unread, "-o table", b.width); u != "" {
		header = append(header, u)
	}
	help := b.helpView()
	bodyH := max(b.height-len(header)-1-lipgloss.Height(help), 6)
	listH := max(bodyH*11/20, 4)
	detailH := bodyH - listH
	rows := b.visible()
	b.cursor = min(b.cursor, max(len(rows)-1, 0))
	list := st.box(fmt.Sprintf("workloads, worst first · %d", len(rows)), b.listView(rows, b.width-2, listH-2), b.width-2, listH-2, true)
	title := "findings"
	if len(rows) > 0 {
		r := rows[b.cursor]
		title = "findings · " + q(strings.ToLower(r.wl.Kind)+"/"+r.wl.Name)
	}
	detail := st.box(title, b.detailView(rows, b.width-2), b.width-2, detailH-2, false)
	status := ""
	switch {
	case b.modes.top() == browseFilter:
		b.filter.SetWidth(b.width - 2)
		status = b.filter.View()
	case b.busy != "":
		status = st.subtle.Render(b.busy)
	case b.status != "":
		status = st.warn.Render(q(b.status))
	}
	return strings.Join(append(header, list, detail, ansi.Truncate(status, b.width, "…"), help), "\n")
}

func (b *Browser) helpView() string {
	h := help.New()
	h.Styles = b.st.help
	h.SetWidth(b.width)
	return h.View(b.keys)
}

func (b *Browser) listView(rows []row, width, height int) string {
	q := termsafe.String
	nsW := 9
	for _, r := range rows {
		nsW = max(nsW, min(len(r.ns), 24))
	}
	head := b.st.subtle.Render(fmt.Sprintf("%5s  %-*s  %-28s %3s %3s %3s %3s  %s", "SCORE", nsW, "NAMESPACE", "WORKLOAD", "C", "H", "M", "L", "TOP FINDINGS"))
	out := []string{ansi.Truncate(head, width, "…")}
	height--
	if b.cursor < b.offset {
		b.offset = b.cursor
	}
	if b.cursor >= b.offset+height {
		b.offset = b.cursor - height + 1
	}
	for i := b.offset; i < len(rows) && i < b.offset+height; i++ {
		r := rows[i]
		name := ansi.Truncate(q(strings.ToLower(r.wl.Kind)+"/"+r.wl.Name), 28, "…")
		line := fmt.Sprintf("%s  %-*s  %-28s %3d %3d %3d %3d  %s", b.st.score(r.wl.Score).Render(fmt.Sprintf("%5d", r.wl.Score)), nsW,
			ansi.Truncate(q(r.ns), nsW, "…"), name, r.wl.Pending.Critical, r.wl.Pending.High, r.wl.Pending.Medium, r.wl.Pending.Low, strings.Join(r.wl.TopRules(3), ", "))
		line = ansi.Truncate(line, width, "…")
		if i == b.cursor {
			line = b.st.cursorLine(line, width, true)
		}
		out = append(out, line)
	}
	if len(rows) == 0 {
		out = append(out, b.st.subtle.Render("no workload matches"))
	}
	return strings.Join(out, "\n")
}

// detailView lists the focused workload's pending findings.
func (b *Browser) detailView(rows []row, width int) string {
	if len(rows) == 0 {
		return ""
	}
	r := rows[b.cursor]
	var out []string
	for _, f := range r.wl.Findings {
		if !f.Pending() {
			continue
		}
		line := fmt.Sprintf("%s %-22s %s", b.st.badge(f.Severity), f.Rule, termsafe.String(f.Message))
		out = append(out, ansi.Truncate(line, width, "…"))
	}
	if len(out) == 0 {
		out = append(out, b.st.ok.Render("nothing pending"))
	}
	return strings.Join(out, "\n")
}

// plural is the suffix of a count's noun: "" for one, suffix otherwise.
func plural(n int, suffix string) string {
	if n == 1 {
		return ""
	}
	return suffix
}
