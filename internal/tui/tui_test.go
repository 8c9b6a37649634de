package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// scripted is the engine of these tests: plans are real (the rules and the
// planner on a fixture snapshot); the API server's answers are scripted,
// since the e2e test in a real terminal drives the real ones.
type scripted struct {
	snap      *inspect.Snapshot
	dry       DryRun
	lines     []string
	release   chan struct{} // Commit waits for it (or its ctx) after the lines
	commitErr error
	writeErr  error
	// owned scripts who else owns the fields of each rule's fix, as the
	// engine reads them from managedFields: a fix whose owner it does not
	// take is held back (status conflict) unless the selection forces it.
	owned map[string][]owners.Conflict
	// pods is what Pods reads again; nil for 2 ready pods in zone-a and
	// zone-b.
	pods *inspect.PodStats

	mu          sync.Mutex
	forced      []bool
	commits     int
	ctxErr      error
	plans       int
	written     []string        // the folders Write was asked for
	last        rules.Selection // the last selection planned
	writtenPlan *plan.Plan      // the plan Write was asked to write
}

// Plan holds back fixes as the engine does: each round holds the planned
// fixes whose scripted owners are not taken, until none is left.
func (e *scripted) Plan(sel rules.Selection) ([]rules.Result, *plan.Plan, error) {
	e.mu.Lock()
	e.plans++
	e.last = sel
	e.mu.Unlock()
	sel.Hold = map[string]rules.Held{}
	for {
		results, err := rules.Evaluate(e.snap, sel)
		if err != nil {
			return nil, nil, err
		}
		held := false
		for i := range results {
			r := &results[i]
			if r.Status != rules.StatusPlanned || len(e.owned[r.Rule]) == 0 {
				continue
			}
			r.Owners = e.owned[r.Rule]
			for _, c := range r.Owners {
				if !c.Class.Takes() && !rules.Forces(sel, r.Rule) {
					reason := fmt.Sprintf("%s is owned by %s: its next apply or sync resets it; --force-conflicts takes it live, or -o patch|kustomize=DIR changes the source", c.Field, c.Manager)
					sel.Hold[rules.HoldKey(r.Finding)], held = rules.Held{Reason: reason, Owners: r.Owners}, true
					break
				}
			}
		}
		if !held {
			p, err := plan.Build(e.snap, results, plan.DefaultFieldManager)
			return results, p, err
		}
	}
}

// lastForce is the Force list of the last plan.
func (e *scripted) lastForce() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last.Force
}

// kubectlApplied scripts the demo as `kubectl apply -f` then `kubectl edit`
// leave it: replicas belongs to kubectl's client-side apply (held), the
// container's probes were added by hand (taken).
func kubectlApplied(e *scripted) {
	e.owned = map[string][]owners.Conflict{
		"replicas":       {{Field: ".spec.replicas", Manager: "kubectl-client-side-apply", Class: owners.Manifest}},
		"liveness-probe": {{Field: `.spec.template.spec.containers[name="web"].livenessProbe`, Manager: "kubectl-edit", Class: owners.OneOff}},
	}
}

func (e *scripted) DryRun(_ context.Context, _ *plan.Plan, force bool) (DryRun, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forced = append(e.forced, force)
	if force {
		return DryRun{Warnings: e.dry.Warnings}, nil
	}
	return e.dry, nil
}

func (e *scripted) Commit(ctx context.Context, _ *plan.Plan, _ bool, progress func(string)) (*apply.Outcome, error) {
	e.mu.Lock()
	e.commits++
	e.mu.Unlock()
	for _, l := range e.lines {
		progress(l)
	}
	if e.release != nil {
		select {
		case <-e.release:
		case <-ctx.Done():
			e.mu.Lock()
			e.ctxErr = ctx.Err()
			e.mu.Unlock()
			return &apply.Outcome{}, &apply.RolledBackError{Cause: errors.New("rollout of deployment.apps/web failed: context canceled"), Workload: "deployment.apps/web"}
		}
	}
	if e.commitErr != nil {
		return &apply.Outcome{}, e.commitErr
	}
	return &apply.Outcome{Rollout: "complete"}, nil
}

func (e *scripted) Pods(context.Context) (inspect.PodStats, error) {
	if e.pods != nil {
		return *e.pods, nil
	}
	return inspect.PodStats{Total: 2, Ready: 2, Zones: map[string]int{"zone-a": 1, "zone-b": 1}}, nil
}

func (e *scripted) Write(p *plan.Plan, dir string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.written = append(e.written, dir)
	e.writtenPlan = p
	return dir, e.writeErr
}

func newEngine(t *testing.T) *scripted {
	return &scripted{snap: rulestest.Load(t, "testdata/web.yaml")}
}

func newModel(t *testing.T, eng Engine) *Model {
	t.Helper()
	snap := rulestest.Load(t, "testdata/web.yaml")
	w := Workload{Kind: "Deployment", Name: "web", Namespace: "demo", Context: "harden-local", Desired: 1, Stats: snap.Stats()}
	m, err := New(context.Background(), eng, w, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// probe asks the running program for its screen; the filter answers it
// on the program's own goroutine, so reading the model never races.
type probe chan string

func answerProbes(m tea.Model, msg tea.Msg) tea.Msg {
	if p, ok := msg.(probe); ok {
		p <- m.(*Model).Render()
		return nil
	}
	return msg
}

// start runs the model as a real Bubble Tea program in teatest's virtual
// terminal, without colours.
func start(t *testing.T, m *Model, w, h int) *teatest.TestModel {
	return teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(answerProbes)))
}

// press sends keys by name (see keyMsg).
func press(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
}

// waitFor waits until the screen shows text. (The renderer writes only the
// cells that changed, so the bytes on the wire rarely hold it whole.)
func waitFor(t *testing.T, tm *teatest.TestModel, text string) string {
	t.Helper()
	return waitForScreen(t, tm, text)
}

// waitForScreen works for any model whose program answers probes.
func waitForScreen(t *testing.T, tm *teatest.TestModel, text string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	screen := ""
	for time.Now().Before(deadline) {
		p := make(probe, 1)
		tm.Send(p)
		select {
		case screen = <-p:
			if strings.Contains(ansi.Strip(screen), text) {
				return ansi.Strip(screen)
			}
		case <-time.After(time.Second):
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the screen never showed %q; it shows:\n%s", text, ansi.Strip(screen))
	return ""
}

// confirmAndApply opens the confirm screen, waits for the dry-run and
// applies.
func confirmAndApply(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	press(tm, "y")
	waitForScreen(t, tm, "dry-run passed")
	press(tm, "y")
}

// final stops the program and returns the model as it last drew.
func final(t *testing.T, tm *teatest.TestModel) *Model {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
}

// The spinner's frame and the elapsed seconds move with the clock.
var (
	spinnerRe = regexp.MustCompile(`[⣾⣽⣻⢿⡿⣟⣯⣷] `)
	elapsedRe = regexp.MustCompile(`(\d+%)  \d+s`)
)

// golden compares the screen, without escape codes, to
// testdata/golden/NAME.txt; -update rewrites it.
func golden(t *testing.T, name string, m *Model) {
	t.Helper()
	goldenScreen(t, name, m.Render(), m.width, m.height)
}

func goldenScreen(t *testing.T, name, rendered string, width, height int) {
	t.Helper()
	screen := ansi.Strip(rendered)
	screen = spinnerRe.ReplaceAllString(screen, "⣾ ")
	screen = elapsedRe.ReplaceAllString(screen, "$1  0s")
	if lines := strings.Count(screen, "\n") + 1; lines != height {
		t.Errorf("%s: the screen has %d lines, the terminal %d", name, lines, height)
	}
	for i, l := range strings.Split(screen, "\n") {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("%s: line %d is %d cells wide, the terminal %d: %q", name, i+1, w, width, l)
		}
	}
	path := filepath.Join("testdata", "golden", name+".txt")
	if rulestest.Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(screen), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/tui -update)", err)
	}
	if string(want) != screen {
		t.Errorf("%s differs from %s (go test ./internal/tui -update rewrites it):\n--- want\n%s\n--- got\n%s", name, path, want, screen)
	}
}

var sizes = []struct{ w, h int }{{80, 24}, {160, 48}}

func TestGoldenScreens(t *testing.T) {
	cases := []struct {
		name  string
		setup func(e *scripted)
		drive func(t *testing.T, tm *teatest.TestModel)
	}{
		{"list", nil, func(t *testing.T, tm *teatest.TestModel) {
			waitFor(t, tm, "replicas")
		}},
		{"diff", nil, func(t *testing.T, tm *teatest.TestModel) {
			// The focused fix alone, then (when wide) side by side.
			press(tm, "j", "d")
			waitFor(t, tm, "focused fix")
		}},
		// The focused fix alone, headed by what it does — each number's
		// source — and its warnings: resources sized from observed usage.
		{"fix-notes", func(e *scripted) {
			e.snap.Usage = map[string]map[string]inspect.ContainerUsage{"web-1": {"web": {CPUMilli: 120, MemoryBytes: 90 << 20}}}
		}, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "/", "r", "e", "s", "o", "u", "r", "c", "e", "s", "enter", "d")
			waitFor(t, tm, "# resources: fix: set requests.cpu 144m")
		}},
		// The focus moved under a kept filter: the diff scrolls to the
		// focused fix (liveness-probe) as without a filter.
		{"filter", nil, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "/", "p", "r", "o", "b", "e", "enter", "j")
			waitFor(t, tm, "fix: add a livenessProbe")
		}},
		// The full help: every key, in three columns that fit 80 cells.
		{"help", nil, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "?")
			waitFor(t, tm, "clear filter/quit")
		}},
		// A toggled fix would be dropped: q asks first.
		{"quit-prompt", nil, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "space", "q")
			waitFor(t, tm, "quit and drop 1 edit? y/n")
		}},
		{"diff-side-by-side", nil, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "d", "d")
			waitFor(t, tm, "side by side")
		}},
		{"edit", nil, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "j", "e")
			waitFor(t, tm, "max-unavailable")
			press(tm, "5", "0", "%")
			waitFor(t, tm, "50%")
		}},
		{"confirm", func(e *scripted) {
			e.dry = DryRun{Warnings: []string{`would violate PodSecurity "restricted:latest": runAsNonRoot != true`}}
		}, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "y")
			waitFor(t, tm, "dry-run passed")
		}},
		{"write", nil, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "w")
			waitFor(t, tm, "write the kustomize overlay to: harden-demo-deployment-web")
		}},
		// Another manager owns fields: replicas is held ([!] and its owner),
		// liveness-probe takes its field from a one-off edit.
		{"owners", kubectlApplied, func(t *testing.T, tm *teatest.TestModel) {
			waitFor(t, tm, "held: .spec.replicas")
		}},
		// f on replicas takes .spec.replicas anyway: planned, in the diff.
		{"owners-forced", kubectlApplied, func(t *testing.T, tm *teatest.TestModel) {
			waitFor(t, tm, "1 held")
			press(tm, "f")
			waitFor(t, tm, "kubectl apply, forced")
		}},
		// The confirm screen names what is held back and what is taken.
		{"owners-confirm", kubectlApplied, func(t *testing.T, tm *teatest.TestModel) {
			press(tm, "y")
			waitFor(t, tm, "dry-run passed")
		}},
		{"rollout", func(e *scripted) {
			e.lines = []string{`Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...`}
			e.release = make(chan struct{})
		}, func(t *testing.T, tm *teatest.TestModel) {
			confirmAndApply(t, tm)
			// The pods and the rollout line arrive apart: wait for both.
			waitFor(t, tm, "zone-b 1")
			waitFor(t, tm, "1 of 2 updated replicas are")
		}},
		// After the apply the header is the workload as the engine reads
		// it again: 2 pods over two zones, 2 desired, the new score.
		{"applied", nil, func(t *testing.T, tm *teatest.TestModel) {
			confirmAndApply(t, tm)
			waitFor(t, tm, "the rollout completed")
			waitFor(t, tm, "pods 2/2 ready · 0 restarts · zones zone-a:1 zone-b:1")
		}},
		{"rollback", func(e *scripted) {
			e.lines = []string{`Waiting for deployment "web" rollout to finish: 0 of 2 updated replicas are available...`}
			e.commitErr = &apply.RolledBackError{
				Cause:    errors.New("rollout of deployment.apps/web failed: pod web-5c9f-abcde: CreateContainerConfigError (container has runAsNonRoot and image will run as root)"),
				Workload: "deployment.apps/web",
			}
		}, func(t *testing.T, tm *teatest.TestModel) {
			confirmAndApply(t, tm)
			waitFor(t, tm, "rolled back automatically")
		}},
	}
	for _, c := range cases {
		for _, sz := range sizes {
			name := fmt.Sprintf("%s-%dx%d", c.name, sz.w, sz.h)
			t.Run(name, func(t *testing.T) {
				if c.name == "diff-side-by-side" && sz.w < 120 {
					t.Skip("side by side needs a wide terminal")
				}
				eng := newEngine(t)
				if c.setup != nil {
					c.setup(eng)
				}
				tm := start(t, newModel(t, eng), sz.w, sz.h)
				c.drive(t, tm)
				m := final(t, tm)
				if eng.release != nil {
					close(eng.release)
				}
				golden(t, name, m)
			})
		}
	}
}

// Toggling fixes changes the plan; a, n and the filter act on what they
// say; report-only rules do not toggle.
func TestSelection(t *testing.T) {
	eng := newEngine(t)
	m := newModel(t, eng)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if len(m.list.chosen()) == 0 || m.plan.Empty() {
		t.Fatalf("nothing preselected: %v", m.list.chosen())
	}
	all := 0 // what a chooses: every fixable rule but the opt-in ones
	for _, it := range m.list.items {
		if it.fixable && !it.optIn() {
			all++
		}
	}
	key := func(k string) { m.Update(tea.KeyPressMsg{Code: []rune(k)[0], Text: k}) }
	key("n")
	if len(m.list.chosen()) != 0 || !m.plan.Empty() {
		t.Fatalf("n left %v selected, plan %d objects", m.list.chosen(), len(m.plan.Objects))
	}
	key(" ") // the first rule: replicas
	if got := m.list.chosen(); len(got) != 1 || got[0] != "replicas" {
		t.Fatalf("space on the first rule chose %v", got)
	}
	if !strings.Contains(m.plan.Diff(), "+  replicas: 2") {
		t.Errorf("the replicas fix is not in the diff:\n%s", m.plan.Diff())
	}
	before, after := m.scores()
	if after <= before {
		t.Errorf("score %d → %d: fixing replicas must raise it", before, after)
	}
	key("a")
	if len(m.list.chosen()) != all {
		t.Errorf("a chose %d rules, want every fixable one (%d)", len(m.list.chosen()), all)
	}
	// Filter down to the security rules, then clear them only.
	key("/")
	for _, r := range "security" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	for _, i := range m.list.visible() {
		if m.list.items[i].meta.Category != rules.Security && !m.list.items[i].matches("security") {
			t.Errorf("the filter shows %s", m.list.items[i].meta.ID)
		}
	}
	key("n")
	for _, id := range m.list.chosen() {
		for _, it := range m.list.items {
			if it.meta.ID == id && it.meta.Category == rules.Security {
				t.Errorf("n under the filter left %s selected", id)
			}
		}
	}
	if !m.list.selected["replicas"] {
		t.Error("n under the filter cleared replicas, which the filter hides")
	}
	// A report-only rule does not toggle and says why.
	for i, idx := range m.list.visible() {
		if !m.list.items[idx].fixable {
			m.list.cursor = i
			key(" ")
			if m.status == "" {
				t.Error("toggling a report-only rule said nothing")
			}
			break
		}
	}
}

// Moving the cursor plans each rule's own diff (to highlight it) once, not
// on every visit; a change of selection plans again.
func TestCursorPlansEachRuleOnce(t *testing.T) {
	eng := newEngine(t)
	m := newModel(t, eng)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key := func(k string) { m.Update(tea.KeyPressMsg{Code: []rune(k)[0], Text: k}) }
	plans := func() int {
		eng.mu.Lock()
		defer eng.mu.Unlock()
		return eng.plans
	}
	walk := func() {
		for range 4 {
			key("j")
		}
		for range 4 {
			key("k")
		}
	}
	walk()
	first := plans()
	walk()
	if again := plans(); again != first {
		t.Errorf("walking the same rules again planned %d more times", again-first)
	}
	key(" ")
	if plans() == first {
		t.Error("a change of selection did not plan again")
	}
}

// Editing a parameter re-plans; a bad value keeps the form open with the
// rule's own error and the old plan.
func TestEditForm(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	for i, idx := range m.list.visible() {
		if m.list.items[idx].meta.ID == "pdb" {
			m.list.cursor = i
		}
	}
	m.Update(tea.KeyPressMsg{Code: 'e', Text: "e"})
	if m.form == nil || m.form.rule.ID != "pdb" {
		t.Fatal("e did not open pdb's form")
	}
	typeText := func(s string) {
		for _, r := range s {
			m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	typeText("nope")
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if m.form == nil || m.form.err == "" {
		t.Fatalf("an invalid maxUnavailable was accepted: form %v", m.form)
	}
	if strings.Contains(m.plan.Diff(), "nope") {
		t.Error("the invalid value reached the plan")
	}
	for range 4 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	typeText("50%")
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if m.form != nil {
		t.Fatalf("the form stayed open: %s", m.form.err)
	}
	if !strings.Contains(m.plan.Diff(), "maxUnavailable: 50%") {
		t.Errorf("the edited parameter is not in the diff:\n%s", m.plan.Diff())
	}
}

// A conflict blocks the apply until the user forces it; then the dry-run
// runs again with force.
func TestConflictThenForce(t *testing.T) {
	eng := newEngine(t)
	eng.dry = DryRun{Conflicts: []string{`conflict on demo/deployment.apps/web: .spec.replicas is owned by field manager "kubectl-client-side-apply"`}}
	tm := start(t, newModel(t, eng), 80, 24)
	press(tm, "y")
	waitFor(t, tm, "kubectl-client-side-apply")
	press(tm, "y") // refused: the dry-run did not pass
	press(tm, "f")
	waitFor(t, tm, "dry-run passed")
	press(tm, "y")
	waitFor(t, tm, "the rollout completed")
	waitFor(t, tm, "undo: kubectl harden undo deployment/web -n demo")
	press(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	out := m.Outcome()
	if out.Aborted || out.Err != nil || out.Applied == nil {
		t.Fatalf("outcome %+v", out)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if fmt.Sprint(eng.forced) != "[false true]" || eng.commits != 1 {
		t.Errorf("dry-runs forced %v, commits %d; want [false true] and 1", eng.forced, eng.commits)
	}
}

// f on a fix takes its fields anyway: a held fix is planned (in the diff,
// counted in the header and the score), f again holds it back; a fix no
// other manager owns has nothing to take.
func TestForceToggle(t *testing.T) {
	eng := newEngine(t)
	kubectlApplied(eng)
	m := newModel(t, eng)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key := func(k string) { m.Update(tea.KeyPressMsg{Code: []rune(k)[0], Text: k}) }
	header := func() string { return ansi.Strip(m.header()) }
	_, heldAfter := m.scores()
	if !m.list.own["replicas"].held || slices.Contains(m.toApply(), "replicas") || strings.Contains(m.plan.Diff(), "+  replicas: 2") {
		t.Fatalf("replicas is not held back: %+v, applying %v", m.list.own["replicas"], m.toApply())
	}
	if !strings.Contains(header(), "1 held") || !slices.Contains(m.toApply(), "liveness-probe") {
		t.Errorf("header %q, applying %v: want replicas held and liveness-probe (a one-off edit's field) taken", header(), m.toApply())
	}
	key("f") // the cursor is on replicas
	if got := eng.lastForce(); fmt.Sprint(got) != "[replicas]" {
		t.Errorf("f planned with Force %v, want [replicas]", got)
	}
	if o := m.list.own["replicas"]; o.held || !o.forced || !strings.Contains(m.plan.Diff(), "+  replicas: 2") {
		t.Errorf("forced replicas is not planned: %+v", o)
	}
	if _, after := m.scores(); after <= heldAfter || strings.Contains(header(), "held") {
		t.Errorf("forcing replicas: score after %d (held: %d), header %q", after, heldAfter, header())
	}
	if !strings.Contains(ansi.Strip(m.statusLine()), "forced: .spec.replicas is owned by kubectl-client-side-apply") {
		t.Errorf("why line: %q", ansi.Strip(m.statusLine()))
	}
	key("f")
	if !m.list.own["replicas"].held || len(eng.lastForce()) != 0 {
		t.Errorf("f again did not hold replicas back: %+v, force %v", m.list.own["replicas"], eng.lastForce())
	}
	if !strings.Contains(ansi.Strip(m.statusLine()), "held: .spec.replicas") {
		t.Errorf("why line of a held fix: %q", ansi.Strip(m.statusLine()))
	}
	key("j")
	key("j") // spread: nobody else owns what it changes
	key("f")
	if !strings.Contains(m.status, "nothing to take") || len(eng.lastForce()) != 0 {
		t.Errorf("f on spread: status %q, force %v", m.status, eng.lastForce())
	}
}

// The confirm screen names the held fixes; its f forces them all (and the
// dry-run), like --force-conflicts, and the apply includes them. With only
// held fixes chosen it opens too, with nothing to apply until f.
func TestHeldThenForceOnConfirm(t *testing.T) {
	eng := newEngine(t)
	kubectlApplied(eng)
	tm := start(t, newModel(t, eng), 80, 24)
	press(tm, "n", "space", "y") // replicas only: held
	waitFor(t, tm, "nothing to apply until f")
	waitFor(t, tm, "! replicas — .spec.replicas is owned by kubectl-client-side-apply")
	if p := make(probe, 1); true {
		tm.Send(p)
		if screen := ansi.Strip(<-p); strings.Contains(screen, "dry-run passed") {
			t.Errorf("nothing was dry-run, yet the screen says it passed:\n%s", screen)
		}
	}
	press(tm, "y") // refused: nothing planned
	press(tm, "f")
	waitFor(t, tm, "dry-run passed")
	waitFor(t, tm, "1 fix: replicas")
	press(tm, "y")
	waitFor(t, tm, "the rollout completed")
	press(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if out := m.Outcome(); out.Err != nil || out.Applied == nil || fmt.Sprint(out.Rules) != "[replicas]" {
		t.Fatalf("outcome %+v", out)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if fmt.Sprint(eng.forced) != "[true]" || eng.commits != 1 || fmt.Sprint(eng.last.Force) != "[all]" {
		t.Errorf("dry-runs forced %v, commits %d, last Force %v; want [true], 1, [all]", eng.forced, eng.commits, eng.last.Force)
	}
}

// w writes every chosen fix, held ones too: the source is where a manifest
// applier's fields change.
func TestWriteIncludesHeld(t *testing.T) {
	eng := newEngine(t)
	kubectlApplied(eng)
	tm := start(t, newModel(t, eng), 80, 24)
	waitFor(t, tm, "1 held")
	press(tm, "w")
	waitFor(t, tm, "write the kustomize overlay to")
	press(tm, "enter")
	out := tm.FinalModel(t).(*Model).Outcome()
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if !slices.Contains(out.Rules, "replicas") || eng.writtenPlan == nil || !strings.Contains(eng.writtenPlan.Diff(), "+  replicas: 2") {
		t.Errorf("w: outcome %+v; the written plan lacks replicas", out)
	}
}

// q quits without changes; ctrl+c during the rollout cancels the engine's
// context, which rolls back, and the result says so.
func TestQuitAndInterrupt(t *testing.T) {
	eng := newEngine(t)
	tm := start(t, newModel(t, eng), 80, 24)
	press(tm, "q")
	if out := tm.FinalModel(t).(*Model).Outcome(); !out.Quit || out.Aborted || out.Pending == 0 {
		t.Errorf("q: outcome %+v, want quit with the findings pending", out)
	}
	tm = start(t, newModel(t, newEngine(t)), 80, 24)
	press(tm, "ctrl+c")
	if out := tm.FinalModel(t).(*Model).Outcome(); !out.Aborted || out.Quit {
		t.Errorf("ctrl+c: outcome %+v, want aborted", out)
	}

	eng = newEngine(t)
	eng.release = make(chan struct{})
	tm = start(t, newModel(t, eng), 80, 24)
	confirmAndApply(t, tm)
	waitFor(t, tm, "ctrl+c")
	press(tm, "ctrl+c")
	s := waitFor(t, tm, "the rollout was interrupted and rolled back")
	if strings.Contains(s, "did not complete") || strings.Contains(s, "rollout failed") || strings.Contains(s, `\n`) || strings.Contains(s, "; ;") {
		t.Errorf("the interrupted rollout is told as a failure:\n%s", s)
	}
	press(tm, "q")
	out := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome()
	var rb *apply.RolledBackError
	if !errors.As(out.Err, &rb) || !out.Interrupted || out.Plan == nil {
		t.Errorf("interrupted apply: outcome %+v, want an interrupted rollback", out)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if !errors.Is(eng.ctxErr, context.Canceled) {
		t.Errorf("the engine's context was not cancelled: %v", eng.ctxErr)
	}
}

// SIGINT or SIGTERM (the caller cancels the context and the view is told)
// during the rollout: the engine rolls back, and the view ends by itself
// once it has, interrupted; before any apply it ends at once, nothing
// changed.
func TestSignalDuringRollout(t *testing.T) {
	eng := newEngine(t)
	tm := start(t, newModel(t, eng), 80, 24)
	waitFor(t, tm, "space")
	tm.Send(interruptMsg{})
	if out := tm.FinalModel(t).(*Model).Outcome(); !out.Aborted || !out.Interrupted {
		t.Errorf("signal while browsing: outcome %+v, want aborted and interrupted", out)
	}

	eng = newEngine(t)
	eng.release = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := newModel(t, eng)
	m.ctx = ctx
	tm = start(t, m, 80, 24)
	confirmAndApply(t, tm)
	waitFor(t, tm, "ctrl+c")
	cancel() // what the signal handler does
	tm.Send(interruptMsg{})
	out := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome()
	var rb *apply.RolledBackError
	if !errors.As(out.Err, &rb) || !out.Interrupted || out.Aborted {
		t.Errorf("signal during the rollout: outcome %+v, want an interrupted rollback", out)
	}
}

// w asks where to write the plan, prefilled with harden-NS-KIND-NAME:
// enter writes there instead of applying, esc goes back.
func TestWritePrompt(t *testing.T) {
	eng := newEngine(t)
	tm := start(t, newModel(t, eng), 80, 24)
	press(tm, "w")
	waitFor(t, tm, "write the kustomize overlay to: harden-demo-deployment-web")
	waitFor(t, tm, "enter write")
	press(tm, "enter")
	out := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome()
	if out.Written != "harden-demo-deployment-web" || len(out.Rules) == 0 || out.Applied != nil || out.Aborted {
		t.Errorf("w, enter: outcome %+v", out)
	}

	// A folder typed over the default; esc first cancels without writing.
	eng = newEngine(t)
	tm = start(t, newModel(t, eng), 80, 24)
	press(tm, "w")
	waitFor(t, tm, "write the kustomize overlay to:")
	press(tm, "esc")
	waitFor(t, tm, "space toggle fix")
	press(tm, "w")
	waitFor(t, tm, "harden-demo-deployment-web")
	for range len("harden-demo-deployment-web") {
		tm.Send(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	press(tm, "g", "i", "t", "o", "p", "s", "/", "w", "e", "b")
	waitFor(t, tm, "write the kustomize overlay to: gitops/web")
	press(tm, "enter")
	out = tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome()
	eng.mu.Lock()
	written := fmt.Sprint(eng.written)
	eng.mu.Unlock()
	if out.Written != "gitops/web" || written != "[gitops/web]" {
		t.Errorf("typed folder: outcome %+v, Write asked for %s", out, written)
	}
}

// A failed write says why and stays in the fix view; nothing is written
// for an empty plan.
func TestWriteFails(t *testing.T) {
	eng := newEngine(t)
	eng.writeErr = errors.New("mkdir /nope: permission denied")
	m := newModel(t, eng)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(tea.KeyPressMsg{Code: 'w', Text: "w"})
	if m.modes.top() != modeWrite {
		t.Fatalf("w did not open the prompt: mode %v", m.modes.top())
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if m.done || m.modes.top() != modeList || !strings.Contains(m.status, "cannot write harden-demo-deployment-web: mkdir /nope") {
		t.Errorf("failed write: done %v, mode %v, status %q", m.done, m.modes.top(), m.status)
	}
	m.Update(tea.KeyPressMsg{Code: 'n', Text: "n"})
	m.Update(tea.KeyPressMsg{Code: 'w', Text: "w"})
	if m.modes.top() != modeList || !strings.Contains(m.status, "nothing to write") {
		t.Errorf("w with no fix: mode %v, status %q", m.modes.top(), m.status)
	}
}

// Strings from the cluster cannot drive the terminal; without colour the
// program writes no colour codes at all.
func TestEscapingAndNoColor(t *testing.T) {
	eng := newEngine(t)
	m := newModel(t, eng)
	m.w.Name = "web\x1b]0;pwned\x07"
	m.w.Stats.Zones = map[string]int{"zone-\x1b]52;c;cHduZWQ=\x07": 1}
	tm := start(t, m, 80, 24)
	waitFor(t, tm, "replicas")
	press(tm, "q")
	raw, err := io.ReadAll(tm.FinalOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b]0;pwned", "\x1b]52;", "\x1b[31m", "38;2;", "38;5;"} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("the terminal received %q", bad)
		}
	}
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, `web\x1b]0;pwned\a`) && !strings.Contains(screen, `web\x1b]0;pwned\x07`) {
		t.Errorf("the escaped name is not shown:\n%s", screen)
	}
}

// browserProbe answers probes for the audit browser.
func browserProbe(m tea.Model, msg tea.Msg) tea.Msg {
	if p, ok := msg.(probe); ok {
		p <- m.(*Browser).Render()
		return nil
	}
	return msg
}

// The audit browser lists workloads worst first; enter opens the fix view,
// q there comes back, and applying fixes audits again.
func TestAuditBrowser(t *testing.T) {
	eng := newEngine(t)
	a := audit.New(rules.Selection{})
	if _, err := a.Add(context.Background(), []*inspect.Snapshot{eng.snap}); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	var refreshed atomic.Int32
	open := func(_ context.Context, ns, kind, name string) (Engine, Workload, error) {
		if ns != "demo" || kind != "Deployment" || name != "web" {
			return nil, Workload{}, fmt.Errorf("opened %s %s/%s", kind, ns, name)
		}
		return eng, Workload{Kind: kind, Name: name, Namespace: ns, Context: "harden-local", Desired: 1, Stats: eng.snap.Stats()}, nil
	}
	refresh := func(context.Context) (*audit.Report, error) {
		refreshed.Add(1)
		return rep, nil
	}
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			b := NewBrowser(context.Background(), rep, "harden-local", open, refresh)
			tm := teatest.NewTestModel(t, b, teatest.WithInitialTermSize(sz.w, sz.h),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(browserProbe)))
			waitForScreen(t, tm, "worst first")
			p := make(probe, 1)
			tm.Send(p)
			goldenScreen(t, fmt.Sprintf("audit-%dx%d", sz.w, sz.h), <-p, sz.w, sz.h)
			press(tm, "enter")
			waitForScreen(t, tm, "space toggle fix")
			press(tm, "q")
			waitForScreen(t, tm, "worst first")
			press(tm, "enter")
			waitForScreen(t, tm, "space toggle fix")
			confirmAndApply(t, tm)
			waitForScreen(t, tm, "the rollout completed")
			press(tm, "q")
			waitForScreen(t, tm, "audited again")
			press(tm, "q")
			tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		})
	}
	if int(refreshed.Load()) != len(sizes) {
		t.Errorf("audited again %d times, want once per applied fix view (%d)", refreshed.Load(), len(sizes))
	}
}

// w in a fix view opened from the audit browser writes, then comes back
// to the browser, which says where.
func TestAuditBrowserWrite(t *testing.T) {
	eng := newEngine(t)
	a := audit.New(rules.Selection{})
	if _, err := a.Add(context.Background(), []*inspect.Snapshot{eng.snap}); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	open := func(_ context.Context, ns, kind, name string) (Engine, Workload, error) {
		return eng, Workload{Kind: kind, Name: name, Namespace: ns, Context: "harden-local", Desired: 1, Stats: eng.snap.Stats()}, nil
	}
	b := NewBrowser(context.Background(), rep, "harden-local", open, func(context.Context) (*audit.Report, error) { return rep, nil })
	tm := teatest.NewTestModel(t, b, teatest.WithInitialTermSize(160, 48),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(browserProbe)))
	waitForScreen(t, tm, "worst first")
	press(tm, "enter")
	waitForScreen(t, tm, "space toggle fix")
	press(tm, "w")
	waitForScreen(t, tm, "write the kustomize overlay to: harden-demo-deployment-web")
	press(tm, "enter")
	waitForScreen(t, tm, "wrote harden-demo-deployment-web")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// Owner badges name the managers briefly and escape them; a workload a
// GitOps tool manages names the tool when a fix is held or forced.
func TestOwnerBadges(t *testing.T) {
	evil := "evil\x1b]0;pwned\x07"
	for _, c := range []struct {
		o       ownership
		managed string
		want    string
	}{
		{ownership{owners: []owners.Conflict{{Field: ".spec.replicas", Manager: "kubectl-client-side-apply", Class: owners.Manifest}}, held: true}, "", "⚑ kubectl apply"},
		{ownership{owners: []owners.Conflict{
			{Field: ".a", Manager: "kubectl-edit", Class: owners.OneOff},
			{Field: ".b", Manager: "helm", Class: owners.Manifest},
		}, forced: true}, "", "⚑ helm +1, forced"},
		{ownership{owners: []owners.Conflict{{Field: ".a", Manager: evil, Class: owners.Controller}}}, "", `⚑ evil\x1b]0;pwned\a`},
		{ownership{held: true}, "argocd", "⚑ argocd"},
		{ownership{}, "argocd", ""},
	} {
		if got := c.o.badge(c.managed); got != c.want {
			t.Errorf("badge(%+v) = %q, want %q", c.o, got, c.want)
		}
	}
	if got := owned([]owners.Conflict{{Field: ".a", Manager: evil, Class: owners.Controller}}); strings.Contains(got, "\x1b") {
		t.Errorf("owned lets an escape through: %q", got)
	}
	if got := (ownership{forced: true}).takes("argocd"); !strings.Contains(got, "managed by argocd") {
		t.Errorf("a forced fix of a managed workload says %q", got)
	}
}

// An opt-in fix (web runs as root today: run-as-non-root) is offered but
// not preselected, not chosen by a, planned once toggled, and preselected
// when --fix names it.
func TestOptInFix(t *testing.T) {
	m := newModel(t, newEngine(t))
	const id = "run-as-non-root"
	var it item
	for _, i := range m.list.items {
		if i.meta.ID == id {
			it = i
		}
	}
	if !it.fixable || !it.optIn() || m.list.selected[id] {
		t.Fatalf("%s: fixable %v, opt-in %v, preselected %v", id, it.fixable, it.optIn(), m.list.selected[id])
	}
	m.list.setAll(true)
	if m.list.selected[id] {
		t.Error("a selected the opt-in fix")
	}
	m.list.selected[id] = true
	if err := m.replan(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.plan.Diff(), "runAsNonRoot: true") {
		t.Errorf("toggled on, run-as-non-root is not in the plan:\n%s", m.plan.Diff())
	}
	snap := rulestest.Load(t, "testdata/web.yaml")
	w := Workload{Kind: "Deployment", Name: "web", Namespace: "demo", Context: "harden-local", Desired: 1, Stats: snap.Stats()}
	for preselect, want := range map[string]bool{"all": false, "security": false, id: true} {
		named, err := New(context.Background(), newEngine(t), w, []string{preselect}, nil)
		if err != nil || named.list.selected[id] != want {
			t.Errorf("--fix=%s: %s preselected %v, want %v (%v)", preselect, id, named.list.selected[id], want, err)
		}
	}
}

// A rule's row carries the severity of its findings on this workload, as
// the text report prints them, not the rule's Meta severity: rollout's
// "minReadySeconds 0" is low here (its Meta says medium), so it shows
// LOW, is not preselected and sorts after the medium rules of its
// category; readiness-probe is high (a Service sends the pods traffic).
func TestSeverityFromFindings(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	want := map[string]rules.Severity{"rollout": rules.Low, "readiness-probe": rules.High, "liveness-probe": rules.Medium}
	for _, it := range m.list.items {
		highest := rules.Severity(0)
		for _, r := range it.findings {
			highest = max(highest, r.Severity)
		}
		if it.severity() != highest {
			t.Errorf("%s: row severity %s, its findings' highest %s", it.meta.ID, it.severity(), highest)
		}
		if sev, ok := want[it.meta.ID]; ok && it.severity() != sev {
			t.Errorf("%s: severity %s, want %s (Meta %s)", it.meta.ID, it.severity(), sev, it.meta.Severity)
		}
		if it.fixable && !it.optIn() && m.list.selected[it.meta.ID] != (it.severity() >= rules.Medium) {
			t.Errorf("%s (%s): preselected %v", it.meta.ID, it.severity(), m.list.selected[it.meta.ID])
		}
	}
	screen := ansi.Strip(m.Render())
	for _, row := range []string{"[ ] LOW  rollout", "[x] HIGH readiness-probe"} {
		if !strings.Contains(screen, row) {
			t.Errorf("no row %q:\n%s", row, screen)
		}
	}
	if strings.Index(screen, "HIGH readiness-probe") > strings.Index(screen, "MED  liveness-probe") {
		t.Errorf("readiness-probe (high here) sorts after liveness-probe (medium):\n%s", screen)
	}
}

// focusOn moves the cursor to rule id and replans its focus, as j/k do.
func focusOn(t *testing.T, m *Model, id string) {
	t.Helper()
	for n, i := range m.list.visible() {
		if m.list.items[i].meta.ID == id {
			m.list.cursor = n
			m.refocus()
			return
		}
	}
	t.Fatalf("%s is not in the list", id)
}

// highlighted is the combined diff's lines the pane marks as the focused
// fix's.
func highlighted(m *Model) []string {
	var out []string
	for i, l := range strings.Split(m.diff.combined, "\n") {
		if m.diff.highlight[i] {
			out = append(out, l)
		}
	}
	return out
}

// A fix whose change is a companion object has that object's creation as
// its focused diff, and its lines are the ones marked in the combined
// diff: pdb alone plans nothing on a single replica (it waits for
// replicas), yet the combined plan creates the budget.
func TestFocusedCompanion(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	for id, kind := range map[string]string{"pdb": "PodDisruptionBudget", "network-policy": "NetworkPolicy"} {
		focusOn(t, m, id)
		if !strings.Contains(m.diff.focused, "+kind: "+kind) || !strings.Contains(m.diff.focused, "--- /dev/null") {
			t.Errorf("%s: the focused diff does not create the %s:\n%s", id, kind, m.diff.focused)
		}
		hl := highlighted(m)
		if !slices.Contains(hl, "+kind: "+kind) {
			t.Errorf("%s: the combined diff does not mark the %s: %q", id, kind, hl)
		}
		for _, other := range []string{"+kind: PodDisruptionBudget", "+kind: NetworkPolicy", "+  replicas: 2"} {
			if other != "+kind: "+kind && slices.Contains(hl, other) {
				t.Errorf("%s: the combined diff marks another fix's %q", id, other)
			}
		}
		// The marked lines are brought into view.
		m.diff.mode = diffCombined
		m.refocus()
		if view := ansi.Strip(m.diff.vp.View()); !strings.Contains(view, "+kind: "+kind) && !strings.Contains(view, "+apiVersion: ") {
			t.Errorf("%s: the combined diff is not scrolled to the %s:\n%s", id, kind, view)
		}
	}
}

// A line two fixes share ("+            port: http" of both probes) is
// marked only where the focused fix's own run of lines is, and the pane
// scrolls to that run: here readiness-probe's, below liveness-probe's.
func TestHighlightFollowsTheRun(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	focusOn(t, m, "liveness-probe")
	focusOn(t, m, "readiness-probe")
	lines := strings.Split(m.diff.combined, "\n")
	live := slices.Index(lines, "+        livenessProbe:")
	ready := slices.Index(lines, "+        readinessProbe:")
	if live < 0 || ready < 0 {
		t.Fatalf("the combined diff lacks a probe:\n%s", m.diff.combined)
	}
	for i := range m.diff.highlight {
		if i < ready {
			t.Errorf("line %d %q, before readiness-probe's run, is marked", i, lines[i])
		}
	}
	if !m.diff.highlight[ready] {
		t.Errorf("readinessProbe: is not marked")
	}
	if view := ansi.Strip(m.diff.vp.View()); !strings.Contains(view, "readinessProbe:") {
		t.Errorf("the pane is not scrolled to readiness-probe:\n%s", view)
	}
}

// With a filter typed, or kept with enter, moving the focus moves the
// diff as without one; clearing the filter keeps the focus on its rule.
func TestFilterFollowsFocus(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key := func(k string) { m.Update(tea.KeyPressMsg{Code: []rune(k)[0], Text: k}) }
	key("/")
	for _, r := range "probe" {
		key(string(r))
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown}) // ↓ while typing moves the focus
	if it, _ := m.list.focused(); it.meta.ID != "liveness-probe" {
		t.Fatalf("↓ in the filter prompt focused %s", it.meta.ID)
	}
	if view := ansi.Strip(m.diff.vp.View()); !strings.Contains(view, "livenessProbe:") {
		t.Errorf("the diff did not follow ↓ under the filter:\n%s", view)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	key("k")
	if view := ansi.Strip(m.diff.vp.View()); !strings.Contains(view, "readinessProbe:") {
		t.Errorf("the diff did not follow k under the filter:\n%s", view)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.done || m.list.filter != "" {
		t.Fatalf("esc with a filter: done %v, filter %q", m.done, m.list.filter)
	}
	if it, _ := m.list.focused(); it.meta.ID != "readiness-probe" {
		t.Errorf("clearing the filter moved the focus to %s", it.meta.ID)
	}
	if view := ansi.Strip(m.diff.vp.View()); !strings.Contains(view, "readinessProbe:") {
		t.Errorf("clearing the filter lost the diff's focus:\n%s", view)
	}
}

// Quitting with edits asks "quit and drop N edits? y/n": n stays, y
// quits, ctrl+c asked twice aborts; with nothing edited (or edits undone)
// q quits at once. Esc with a filter, typed or kept, clears it and stays.
func TestQuitAsksBeforeDroppingEdits(t *testing.T) {
	m := newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key := func(k string) { send(m, k) }
	prompt := func() string {
		lines := strings.Split(ansi.Strip(m.Render()), "\n")
		return lines[len(lines)-1]
	}
	for _, keys := range [][]string{{"/", "x", "esc"}, {"/", "x", "enter", "esc"}} {
		for _, k := range keys {
			key(k)
		}
		if m.done || m.list.filter != "" || m.modes.top() != modeList {
			t.Errorf("%v: done %v, filter %q, mode %v", keys, m.done, m.list.filter, m.modes.top())
		}
	}
	key("space") // replicas off
	focusOn(t, m, "pdb")
	key("e")
	for _, r := range "50%" {
		key(string(r))
	}
	key("enter")
	if m.form != nil {
		t.Fatalf("the pdb form did not save: %s", m.form.err)
	}
	key("q")
	if m.done || prompt() != "quit and drop 2 edits? y/n" {
		t.Fatalf("q with two edits: done %v, bottom line %q", m.done, prompt())
	}
	key("x") // not an answer
	key("n")
	if m.done || m.quitting != nil || m.modes.top() != modeList {
		t.Fatalf("n: done %v, still asking %v, mode %v", m.done, m.quitting != nil, m.modes.top())
	}
	key("ctrl+c")
	if !strings.HasPrefix(prompt(), "quit and drop 2 edits? y/n · ctrl+c again aborts") {
		t.Errorf("ctrl+c with edits: bottom line %q", prompt())
	}
	key("esc")
	if m.done || m.quitting != nil || m.modes.top() != modeList {
		t.Fatalf("esc on the question: done %v, mode %v", m.done, m.modes.top())
	}
	key("ctrl+c")
	key("ctrl+c")
	if !m.done || !m.outcome.Aborted {
		t.Fatalf("ctrl+c twice: done %v, outcome %+v", m.done, m.outcome)
	}

	m = newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key("space")
	key("space") // back as it opened: nothing to drop
	key("q")
	if !m.done || !m.outcome.Quit || m.outcome.Pending == 0 {
		t.Fatalf("q with no edit left: done %v, outcome %+v", m.done, m.outcome)
	}

	m = newModel(t, newEngine(t))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key("n") // every fix off
	key("esc")
	key("y")
	if !m.done || !m.outcome.Quit || m.outcome.Aborted {
		t.Fatalf("esc, y: done %v, outcome %+v", m.done, m.outcome)
	}
}

// Every way the view ends carries the findings left, as the command line
// counts them for its exit code: after an apply, those it did not fix
// (resources needs a human here; the opt-in and low fixes were not
// chosen) — also when a signal ends the result screen; after q or w,
// every finding.
func TestOutcomePending(t *testing.T) {
	m := newModel(t, newEngine(t))
	var left, all int
	manual := false
	for _, r := range m.results {
		if r.Pending() {
			all++
		}
		if r.Pending() && r.Status != rules.StatusPlanned {
			left++
			manual = manual || r.Status == rules.StatusNeedsHuman
		}
	}
	if left == 0 || !manual || all <= left {
		t.Fatalf("the fixture leaves %d findings (needs-human among them: %v) of %d", left, manual, all)
	}

	tm := start(t, m, 80, 24)
	confirmAndApply(t, tm)
	waitFor(t, tm, "the rollout completed")
	press(tm, "q")
	if out := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome(); out.Applied == nil || out.Pending != left {
		t.Errorf("q after the apply: outcome %+v, want %d pending", out, left)
	}

	tm = start(t, newModel(t, newEngine(t)), 80, 24)
	confirmAndApply(t, tm)
	waitFor(t, tm, "the rollout completed")
	tm.Send(interruptMsg{})
	if out := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome(); out.Applied == nil || out.Pending != left {
		t.Errorf("a signal on the result screen: outcome %+v, want %d pending", out, left)
	}

	tm = start(t, newModel(t, newEngine(t)), 80, 24)
	press(tm, "w")
	waitFor(t, tm, "write the kustomize overlay to:")
	press(tm, "enter")
	if out := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model).Outcome(); out.Written == "" || out.Pending != all {
		t.Errorf("w: outcome %+v, want all %d pending (nothing changed live)", out, all)
	}
}

// The audit browser: esc clears a kept filter and stays; q while the
// audit is read again ends once it is in (the exit code reads it), and
// Report is that audit; ctrl+c aborts.
func TestAuditBrowserEnds(t *testing.T) {
	eng := newEngine(t)
	a := audit.New(rules.Selection{})
	if _, err := a.Add(context.Background(), []*inspect.Snapshot{eng.snap}); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	again := &audit.Report{}
	release := make(chan struct{})
	refresh := func(context.Context) (*audit.Report, error) {
		<-release
		return again, nil
	}
	open := func(_ context.Context, ns, kind, name string) (Engine, Workload, error) {
		return eng, Workload{Kind: kind, Name: name, Namespace: ns, Desired: 1, Stats: eng.snap.Stats()}, nil
	}
	b := NewBrowser(context.Background(), rep, "harden-local", open, refresh)
	tm := teatest.NewTestModel(t, b, teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(browserProbe)))
	waitForScreen(t, tm, "worst first")
	press(tm, "/", "z", "z", "enter")
	waitForScreen(t, tm, "no workload matches")
	press(tm, "esc")
	waitForScreen(t, tm, "deployment/web")
	press(tm, "r", "q")
	waitForScreen(t, tm, "auditing again, then quitting")
	close(release)
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Browser)
	if final.Report() != again || final.Aborted() {
		t.Errorf("q during the re-audit: report %p (want the new one %p), aborted %v", final.Report(), again, final.Aborted())
	}

	b = NewBrowser(context.Background(), rep, "harden-local", open, refresh)
	tm = teatest.NewTestModel(t, b, teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(browserProbe)))
	waitForScreen(t, tm, "worst first")
	press(tm, "ctrl+c")
	if !tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Browser).Aborted() {
		t.Error("ctrl+c did not abort the browser")
	}
}

// f on the confirm screen takes every held fix's fields: one edit per
// rule whose fields another manager owns (here replicas), not one per
// rule.
func TestForceAllIsOneEditPerOwnedRule(t *testing.T) {
	eng := newEngine(t)
	kubectlApplied(eng)
	m := newModel(t, eng)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.forceAll = true
	// replicas is held for its manifest's owner; liveness-probe's field,
	// a one-off edit's, is taken without f.
	if got := m.edits(); got != 1 {
		t.Errorf("forcing every fix counts %d edits, want 1 (replicas)", got)
	}
}
