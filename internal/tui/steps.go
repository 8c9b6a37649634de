package tui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// phase is where the apply flow is.
type phase int

const (
	phaseDryRun   phase = iota // the server-side dry-run is running
	phaseConfirm               // dry-run done: confirm or go back
	phaseApplying              // applying and watching the rollout
	phaseDone                  // applied, or rolled back
)

// Messages from the tea.Cmds that do the API work.
type (
	dryRunMsg struct {
		res DryRun
		err error
	}
	progressMsg string
	commitMsg   struct {
		out *apply.Outcome
		err error
	}
	podsMsg struct {
		stats inspect.PodStats
		err   error
		// final is the read after the commit returned: once done, only
		// it counts (a read still in flight from the rollout is older).
		final bool
	}
	podsTickMsg struct{}
)

// steps is the confirm → dry-run → apply → rollout → result flow of one
// plan. All API work runs in tea.Cmds under a context the user can cancel.
type steps struct {
	phase phase
	plan  *plan.Plan
	rules []string
	dry   DryRun
	err   error
	lines []string // rollout status lines, newest last
	ready float64  // 0–1, from the rollout status
	pods  inspect.PodStats
	// podsRead is set once pods holds a read: the header shows it.
	podsRead bool
	out      *apply.Outcome
	spin     spinner.Model
	bar      progress.Model
	cancel   context.CancelFunc
	started  time.Time
	elapsed  time.Duration // frozen when the commit returns
	// cancelled is set when the user interrupted the apply.
	cancelled bool
	// force takes fields other managers own, once the user chose to.
	force bool
	// owned are the chosen fixes whose fields other managers own: held
	// back, or taking them.
	owned []ownedFix
	// managed names the GitOps tool managing the workload, escaped.
	managed string
}

// ownedFix is a chosen fix and who else owns what it changes.
type ownedFix struct {
	rule string
	ownership
}

func newSteps(st styles) steps {
	return steps{
		spin: spinner.New(spinner.WithSpinner(spinner.Dot), spinner.WithStyle(st.title)),
		bar:  progress.New(progress.WithColors(st.bar), progress.WithoutPercentage()),
	}
}

// load sets what the flow confirms: the plan, the rules it applies and
// the chosen fixes other managers own fields of.
func (s *steps) load(p *plan.Plan, rules []string, owned []ownedFix, managed string) {
	s.plan, s.rules, s.owned, s.managed = p, rules, owned, managed
}

// heldFixes are the chosen fixes the plan leaves out.
func (s *steps) heldFixes() []ownedFix {
	var out []ownedFix
	for _, f := range s.owned {
		if f.held {
			out = append(out, f)
		}
	}
	return out
}

// startDryRun runs the server-side dry-run of the plan; with nothing
// planned (every chosen fix held) there is nothing to ask.
func (s *steps) startDryRun(ctx context.Context, eng Engine) tea.Cmd {
	ctx, s.cancel = context.WithCancel(ctx)
	s.phase, s.dry, s.err = phaseDryRun, DryRun{}, nil
	if s.plan.Empty() {
		s.phase = phaseConfirm
		return nil
	}
	p, force := s.plan, s.force
	return tea.Batch(s.spin.Tick, func() tea.Msg {
		res, err := eng.DryRun(ctx, p, force)
		return dryRunMsg{res, err}
	})
}

// startCommit applies the plan; rollout lines arrive through a channel so
// the UI keeps drawing while the engine watches.
func (s *steps) startCommit(ctx context.Context, eng Engine) tea.Cmd {
	ctx, s.cancel = context.WithCancel(ctx)
	s.phase, s.started = phaseApplying, time.Now()
	lines := make(chan string, 64)
	done := make(chan commitMsg, 1)
	p, force := s.plan, s.force
	go func() {
		out, err := eng.Commit(ctx, p, force, func(l string) {
			select {
			case lines <- l:
			default: // the UI is behind; it reads the latest lines soon
			}
		})
		done <- commitMsg{out, err}
		close(lines)
	}()
	return tea.Batch(s.spin.Tick, listen(lines, done), pollPods(ctx, eng, 0, false))
}

// listen delivers the next rollout line, or the result once the commit
// returned.
func listen(lines <-chan string, done <-chan commitMsg) tea.Cmd {
	return func() tea.Msg {
		if l, ok := <-lines; ok {
			return linesMsg{line: l, next: listen(lines, done)}
		}
		return <-done
	}
}

// linesMsg carries a rollout line and the command that waits for the next.
type linesMsg struct {
	line string
	next tea.Cmd
}

// pollPods reads the pods again after a delay, for ready pods per zone;
// final marks the read after the commit.
func pollPods(ctx context.Context, eng Engine, after time.Duration, final bool) tea.Cmd {
	return tea.Tick(after, func(time.Time) tea.Msg {
		if ctx.Err() != nil {
			return nil
		}
		stats, err := eng.Pods(ctx)
		return podsMsg{stats, err, final}
	})
}

// outcome is how the flow ended, once done.
func (s *steps) outcome() Outcome {
	return Outcome{Applied: s.out, Rules: s.rules, Err: s.err, Interrupted: s.cancelled, Plan: s.plan}
}

// update handles the flow's own messages; it returns the command to run.
func (s *steps) update(ctx context.Context, eng Engine, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case dryRunMsg:
		s.dry, s.err, s.phase = msg.res, msg.err, phaseConfirm
	case linesMsg:
		s.addLine(msg.line)
		return msg.next
	case commitMsg:
		return s.committed(eng, msg)
	case podsMsg:
		if msg.err == nil && (s.phase != phaseDone || msg.final) {
			s.pods, s.podsRead = msg.stats, true
		}
		if s.phase == phaseApplying {
			return pollPods(ctx, eng, time.Second, false)
		}
	case spinner.TickMsg:
		if s.phase == phaseDryRun || s.phase == phaseApplying {
			var cmd tea.Cmd
			s.spin, cmd = s.spin.Update(msg)
			return cmd
		}
	}
	return nil
}

// addLine keeps a rollout status line, the last 50 at most, and the
// ready fraction it tells.
func (s *steps) addLine(line string) {
	s.lines = append(s.lines, strings.TrimRight(line, "\n"))
	if len(s.lines) > 50 {
		s.lines = s.lines[len(s.lines)-50:]
	}
	if f, ok := readyFraction(line); ok {
		s.ready = f
	}
}

// committed takes the commit's result: the flow is done, its clock
// stops, and the pods are read once more.
func (s *steps) committed(eng Engine, msg commitMsg) tea.Cmd {
	s.out, s.err, s.phase = msg.out, msg.err, phaseDone
	s.elapsed = time.Since(s.started)
	if msg.err == nil {
		s.ready = 1
	}
	if s.cancel != nil {
		s.cancel()
	}
	return pollPods(context.Background(), eng, 0, true)
}

// readyFraction reads "N of M updated replicas are available" and the
// like from kubectl rollout status' messages.
var ofRe = regexp.MustCompile(`(\d+) (?:of|out of) (\d+)`)

func readyFraction(line string) (float64, bool) {
	m := ofRe.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	total, _ := strconv.Atoi(m[2])
	if total == 0 {
		return 0, false
	}
	return float64(n) / float64(total), true
}

// blocked reports whether the dry-run forbids applying.
func (s *steps) blocked() bool {
	return s.err != nil || len(s.dry.Conflicts) > 0
}

func (s *steps) keys() stepKeys {
	km := newKeyMap()
	k := stepKeys{
		Confirm: key.NewBinding(key.WithKeys("y", "enter"), key.WithHelp("y/enter", "apply")),
		Force:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "force conflicts")),
		Back:    km.Back,
		Quit:    km.Quit,
	}
	k.Force.SetEnabled(s.phase == phaseConfirm && s.err == nil && (len(s.dry.Conflicts) > 0 || len(s.heldFixes()) > 0))
	if len(s.heldFixes()) > 0 {
		k.Force.SetHelp("f", "take held fields")
	}
	k.Back.SetHelp("esc", "back to the list")
	switch s.phase {
	case phaseDryRun:
		k.Confirm.SetEnabled(false)
		k.Back.SetHelp("esc", "cancel")
	case phaseConfirm:
		k.Confirm.SetEnabled(!s.blocked() && !s.plan.Empty())
	case phaseApplying:
		k.Confirm.SetEnabled(false)
		k.Back.SetEnabled(false)
		k.Quit.SetHelp("ctrl+c", "stop and roll back")
	case phaseDone:
		k.Confirm.SetEnabled(false)
		k.Back.SetEnabled(false)
		k.Quit.SetKeys("q", "esc", "enter", "ctrl+c")
		k.Quit.SetHelp("q/enter", "done")
	}
	return k
}

// title names the step.
func (s *steps) title() string {
	return map[phase]string{phaseDryRun: "server-side dry-run", phaseConfirm: "apply these changes?", phaseApplying: "applying", phaseDone: "result"}[s.phase]
}

// view renders the flow in width×height cells, by phase: the plan and
// the dry-run's answer, then the rollout and its result. Lines wrap at
// width; when they overflow, the newest are kept.
func (s *steps) view(st styles, w Workload, width, height int) string {
	var lines []string
	switch s.phase {
	case phaseDryRun:
		lines = append(s.planView(st, w), s.spin.View()+" asking the API server (dry-run, nothing is stored)…")
	case phaseConfirm:
		lines = append(s.planView(st, w), s.dryRunView(st)...)
	default:
		lines = s.progressView(st, w, width)
		if s.phase == phaseDone && s.err == nil {
			lines = append(lines, "", st.subtle.Render(fmt.Sprintf("undo: kubectl harden undo %s/%s -n %s", strings.ToLower(w.Kind), termsafe.String(w.Name), termsafe.String(w.Namespace))))
		}
	}
	var out []string
	for _, l := range lines {
		out = append(out, strings.Split(ansi.Wrap(l, width, " "), "\n")...)
	}
	if len(out) > height {
		out = out[len(out)-height:] // the newest lines
	}
	for len(out) < height {
		out = append(out, "")
	}
	return strings.Join(out, "\n")
}

// planView is what the flow would apply: the fixes and the objects they
// create or update, the chosen fixes other managers own fields of, and
// the GitOps tool that would revert a live change.
func (s *steps) planView(st styles, w Workload) []string {
	q := termsafe.String
	var out []string
	if s.plan.Empty() {
		out = append(out, "nothing to apply until f takes the held fixes' fields", "")
	} else {
		out = append(out, fmt.Sprintf("%d fix%s: %s", len(s.rules), plural(len(s.rules), "es"), strings.Join(s.rules, ", ")), "objects:")
		for _, o := range s.plan.Objects {
			verb := st.warn.Render("update")
			if o.Create {
				verb = st.ok.Render("create")
			}
			out = append(out, fmt.Sprintf("  %s %s", verb, q(o.Namespace+"/"+o.Ref())))
		}
		out = append(out, "")
	}
	out = append(out, s.ownedView(st)...)
	if w.Managed != "" {
		out = append(out, st.warn.Render("! "+q(w.Managed)+" manages this workload: it will revert a live change (esc, then w writes a kustomize overlay instead)"), "")
	}
	return out
}

// dryRunView is the dry-run's answer: failed, conflicts to force, or
// passed; then the API server's warnings.
func (s *steps) dryRunView(st styles) []string {
	q := termsafe.String
	var out []string
	switch {
	case s.err != nil:
		out = append(out, st.bad.Render("✗ the dry-run failed: ")+q(s.err.Error()))
	case s.plan.Empty(): // no dry-run was sent
	case len(s.dry.Conflicts) > 0:
		for _, c := range s.dry.Conflicts {
			out = append(out, st.bad.Render("✗ ")+q(c))
		}
		out = append(out, st.subtle.Render("nothing was changed. f takes these fields from their manager (like --force-conflicts); they may be changed back by whoever applies them next."))
	default:
		out = append(out, st.ok.Render("✓ dry-run passed: admission accepts every object"))
	}
	for _, wn := range s.dry.Warnings {
		out = append(out, st.warn.Render("! warning: ")+q(wn))
	}
	return out
}

// ownedView names the chosen fixes held back, with their owners and the
// ways on, then those that take fields from other managers.
func (s *steps) ownedView(st styles) []string {
	var held, taken []string
	for _, f := range s.owned {
		what := owned(f.owners)
		switch {
		case f.held && what == "":
			what = termsafe.String(strings.SplitN(f.why(), ";", 2)[0]) // managed by a GitOps tool
			fallthrough
		case f.held:
			held = append(held, st.bad.Render("! ")+f.rule+" — "+what)
		case f.forced:
			taken = append(taken, st.owner(f.ownership).Render("⚑ forced: ")+f.rule+" — "+f.takes(s.managed))
		case len(f.owners) > 0:
			taken = append(taken, st.owner(f.ownership).Render("⚑ ")+f.rule+" — "+what)
		}
	}
	var out []string
	if len(held) > 0 {
		out = append(out, st.bad.Render("not applied")+": another manager owns what these fixes change (f takes their fields like --force-conflicts; esc, then w writes a kustomize overlay for the source)")
		out = append(out, held...)
		out = append(out, "")
	}
	if len(taken) > 0 {
		out = append(out, "taking fields another manager owns:")
		out = append(out, taken...)
		out = append(out, "")
	}
	return out
}

// progressView is the rollout: a bar, ready pods per zone, the status
// lines, then the result.
func (s *steps) progressView(st styles, w Workload, width int) []string {
	q := termsafe.String
	var out []string
	head := s.spin.View() + " "
	if s.phase == phaseDone {
		head = ""
	}
	s.bar.SetWidth(max(min(width-20, 50), 10))
	elapsed := s.elapsed
	if s.phase != phaseDone {
		elapsed = time.Since(s.started)
	}
	elapsed = elapsed.Truncate(time.Second)
	out = append(out, fmt.Sprintf("%srollout %s %3.0f%%  %s", head, s.bar.ViewAs(s.ready), s.ready*100, st.subtle.Render(elapsed.String())))
	if len(s.pods.Zones) > 0 {
		out = append(out, fmt.Sprintf("pods ready %d/%d · per zone: %s", s.pods.Ready, s.pods.Total, zoneCounts(s.pods.Zones, w.Unread, " ", ", ")))
	}
	for _, l := range s.lines[max(len(s.lines)-4, 0):] {
		out = append(out, st.subtle.Render("  "+q(l)))
	}
	if s.phase != phaseDone {
		if s.cancelled {
			out = append(out, st.warn.Render("stopping: rolling back to the recorded state…"))
		}
		return out
	}
	return append(append(out, ""), s.resultView(st)...)
}

// resultView says how the apply ended: applied (the rollout's state and
// the API server's warnings), stopped by the user and rolled back,
// failed and rolled back, or failed.
func (s *steps) resultView(st styles) []string {
	q := termsafe.String
	var out []string
	var rolled *apply.RolledBackError
	switch {
	case s.err == nil:
		msg := fmt.Sprintf("✓ applied %d fix%s", len(s.rules), plural(len(s.rules), "es"))
		switch {
		case s.out != nil && s.out.Rollout == "complete":
			msg += "; the rollout completed"
		case s.out != nil && s.out.Rollout != "":
			msg += "; rollout " + q(s.out.Rollout) // paused or OnDelete: not watched, and why
		}
		out = append(out, st.ok.Render(msg))
		if s.out != nil {
			for _, wn := range s.out.Warnings {
				out = append(out, st.warn.Render("! ")+q(wn))
			}
		}
	case errors.As(s.err, &rolled) && s.cancelled:
		out = append(out, st.warn.Render("■ stopped: the rollout was interrupted and rolled back"),
			st.ok.Render("✓ ")+q(rolled.State()))
	case errors.As(s.err, &rolled):
		out = append(out, st.bad.Render("✗ the rollout failed and was rolled back automatically"), "  "+q(rolled.Cause.Error()),
			st.ok.Render("✓ ")+q(rolled.State()))
	default:
		out = append(out, st.bad.Render("✗ ")+q(s.err.Error()))
	}
	return out
}
