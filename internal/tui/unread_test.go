package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// asViewer makes the engine's snapshot what the built-in view ClusterRole
// reads: no nodes (so no zone), no PriorityClasses, no RBAC bindings.
func asViewer(e *scripted) {
	forbidden := func(res string) inspect.Unread {
		return inspect.Unread{Resource: res, Verb: "list", Reason: inspect.ReasonForbidden,
			Message: res + ` is forbidden: User "viewer" cannot list resource "` + res + `"`}
	}
	e.snap.Cluster.Nodes = nil
	e.snap.Cluster.Unread = []inspect.Unread{forbidden(inspect.ResClusterRoleBindings), forbidden(inspect.ResNodes), forbidden(inspect.ResPriorityClasses)}
	e.snap.Unread = []inspect.Unread{forbidden(inspect.ResRoleBindings)}
	e.pods = &inspect.PodStats{Total: 2, Ready: 2, Zones: map[string]int{"": 2}}
}

// viewerModel is the fix view as the engine opens it for a view user.
func viewerModel(t *testing.T, e *scripted) *Model {
	t.Helper()
	w := Workload{Kind: "Deployment", Name: "web", Namespace: "demo", Context: "harden-local", Desired: 1,
		Stats: e.snap.Stats(), Unread: e.snap.AllUnread()}
	m, err := New(context.Background(), e, w, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A view user's fix view says which reads were refused, under the header,
// and zones as unknown — "no zone" is only a node without the zone label —
// in the header and through the rollout.
func TestViewerScreens(t *testing.T) {
	for _, c := range []struct {
		name  string
		drive func(t *testing.T, tm *teatest.TestModel)
		want  []string
	}{
		{"viewer", func(t *testing.T, tm *teatest.TestModel) { waitFor(t, tm, "replicas") },
			[]string{"zones unknown", "unread: ", "(-o text lists them)"}},
		{"viewer-applied", func(t *testing.T, tm *teatest.TestModel) {
			confirmAndApply(t, tm)
			waitFor(t, tm, "the rollout completed")
		}, []string{"per zone: unknown", "zones unknown", "fixes applied · ", "(-o text lists them)"}},
	} {
		for _, sz := range sizes {
			name := fmt.Sprintf("%s-%dx%d", c.name, sz.w, sz.h)
			t.Run(name, func(t *testing.T) {
				eng := newEngine(t)
				asViewer(eng)
				tm := start(t, viewerModel(t, eng), sz.w, sz.h)
				c.drive(t, tm)
				m := final(t, tm)
				screen := ansi.Strip(m.Render())
				for _, w := range c.want {
					if !strings.Contains(screen, w) {
						t.Errorf("the screen lacks %q:\n%s", w, screen)
					}
				}
				if strings.Contains(screen, "no zone") {
					t.Errorf("unread nodes shown as no zone:\n%s", screen)
				}
				golden(t, name, m)
			})
		}
	}
}

// The unread line names each resource once, cuts the names before the
// hint, and escapes nothing it does not need to.
func TestUnreadLine(t *testing.T) {
	st := newStyles(true)
	unread := []inspect.Unread{
		{Resource: "clusterrolebindings", Verb: "list"}, {Resource: "namespaces", Verb: "get"}, {Resource: "namespaces", Verb: "list"},
		{Resource: "nodes", Verb: "list"}, {Resource: "priorityclasses", Verb: "list"}, {Resource: "rolebindings", Verb: "list"},
	}
	for width, want := range map[int]string{
		120: "unread: clusterrolebindings, namespaces, nodes, priorityclasses, rolebindings (-o text lists them)",
		60:  "unread: clusterrolebindings, namespace… (-o text lists them)",
	} {
		got := ansi.Strip(unreadLine(st, unread, "-o text", width))
		if got != want || ansi.StringWidth(got) > width {
			t.Errorf("width %d: %q, want %q", width, got, want)
		}
	}
	if got := unreadLine(st, nil, "-o text", 80); got != "" {
		t.Errorf("nothing unread: %q, want no line", got)
	}
}

// The audit browser of a view user says which reads were refused, under
// its header.
func TestAuditBrowserUnread(t *testing.T) {
	eng := newEngine(t)
	asViewer(eng)
	a := audit.New(rules.Selection{})
	if _, err := a.Add(context.Background(), []*inspect.Snapshot{eng.snap}); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	rep.Unread = eng.snap.AllUnread()
	open := func(context.Context, string, string, string) (Engine, Workload, error) {
		return nil, Workload{}, fmt.Errorf("not opened here")
	}
	refresh := func(context.Context) (*audit.Report, error) { return rep, nil }
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			b := NewBrowser(context.Background(), rep, "harden-local", open, refresh)
			tm := teatest.NewTestModel(t, b, teatest.WithInitialTermSize(sz.w, sz.h),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(browserProbe)))
			screen := waitForScreen(t, tm, "worst first")
			if !strings.Contains(screen, "unread: ") || !strings.Contains(screen, "(-o table lists them)") {
				t.Errorf("the browser does not say what it could not read:\n%s", screen)
			}
			p := make(probe, 1)
			tm.Send(p)
			goldenScreen(t, fmt.Sprintf("audit-viewer-%dx%d", sz.w, sz.h), <-p, sz.w, sz.h)
			press(tm, "q")
			tm.WaitFinished(t)
		})
	}
}
