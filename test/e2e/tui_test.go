package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// terminal is a real terminal: a tmux session of its own server, 80×24,
// running one command through kubectl's plugin discovery.
type terminal struct {
	t      *testing.T
	socket string
	exit   string // the file the command's exit code is written to
}

func newTerminal(t *testing.T, command string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed for the terminal tests (.ci/run installs it)")
	}
	term := &terminal{t: t, socket: fmt.Sprintf("harden-e2e-%d", time.Now().UnixNano()), exit: filepath.Join(t.TempDir(), "exit")}
	script := fmt.Sprintf("%s; echo $? > %s; sleep 600", command, term.exit)
	out, err := exec.Command("tmux", "-L", term.socket, "new-session", "-d", "-x", "80", "-y", "24",
		"-e", "KUBECONFIG="+os.Getenv("KUBECONFIG"), "-e", "PATH="+os.Getenv("PATH"), "-e", "TERM=xterm-256color",
		"sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("starting tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", term.socket, "kill-server").Run() })
	return term
}

// screen is what the terminal shows now.
func (term *terminal) screen() string {
	out, err := exec.Command("tmux", "-L", term.socket, "capture-pane", "-p").CombinedOutput()
	if err != nil {
		term.t.Fatalf("capture-pane: %v: %s", err, out)
	}
	return string(out)
}

// waitFor waits until the screen shows text.
func (term *terminal) waitFor(text string, timeout time.Duration) string {
	term.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := term.screen()
		if strings.Contains(s, text) {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q; it shows:\n%s", text, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// keys types keys, one tmux send-keys per key so the program sees each.
func (term *terminal) keys(keys ...string) {
	for _, k := range keys {
		if out, err := exec.Command("tmux", "-L", term.socket, "send-keys", k).CombinedOutput(); err != nil {
			term.t.Fatalf("send-keys %s: %v: %s", k, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exitCode waits for the command to end.
func (term *terminal) exitCode() string {
	term.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(term.exit); err == nil {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(200 * time.Millisecond)
	}
	term.t.Fatalf("the command did not end; the terminal shows:\n%s", term.screen())
	return ""
}

// A first-time user hardens the demo shop's web Deployment with the
// keyboard only: picks two fixes, finds replicas held back because
// kubectl's client-side apply owns it, takes it anyway with f, applies, and
// watches the rollout.
func TestTUIHardensWithKeyboard(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deploy/web")

	term := newTerminal(t, "kubectl harden deploy/web -n "+ns)
	s := term.waitFor("findings", 30*time.Second)
	for _, want := range []string{"deployment/web", "ns " + ns[:20], "pods 1/1 ready", "replicas", "space toggle fix"} {
		if !strings.Contains(s, want) {
			t.Errorf("the first screen lacks %q:\n%s", want, s)
		}
	}
	// None, then replicas (the first rule) and pdb (the next): replicas
	// is held, and pdb waits for it.
	term.keys("n", "Space", "j", "Space")
	s = term.waitFor("1 held", 5*time.Second)
	if !strings.Contains(s, "[!] HIGH replicas") || !strings.Contains(s, "⚑ kubectl apply") || strings.Contains(s, "+  replicas: 2") {
		t.Errorf("replicas is not shown held with its owner:\n%s", s)
	}
	term.keys("k", "f")
	s = term.waitFor("2/", 5*time.Second)
	// The diff pane opens on the fixes' notes: the forced fix is among them.
	if !strings.Contains(s, "# replicas: fix: set spec.replicas to 2") && !strings.Contains(s, "+  replicas: 2") || !strings.Contains(s, "forced: .spec.replicas") {
		t.Errorf("f did not take replicas' field:\n%s", s)
	}
	term.keys("y")
	s = term.waitFor("dry-run passed", 30*time.Second)
	for _, want := range []string{"create " + ns + "/poddisruptionbudget.policy/web", "forced: replicas — .spec.replicas is owned by kubectl-client-side-apply"} {
		if !strings.Contains(s, want) {
			t.Errorf("the confirm screen lacks %q:\n%s", want, s)
		}
	}
	term.keys("y")
	term.waitFor("the rollout completed", 2*time.Minute)
	// The header is the workload after the apply, as read again: two
	// ready pods of two desired, in the zones the cluster has them in.
	s = term.waitFor("pods 2/2 ready", 30*time.Second)
	if got, want := headerZones(t, s), zonesOf(t, ns, "app=web"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the header's zones after the apply are %v, the cluster's %v:\n%s", got, want, s)
	}
	// The header counts the fixes as applied, no longer as to apply.
	if !strings.Contains(s, "2 fixes applied · ") || strings.Contains(s, "fixes to apply") {
		t.Errorf("the header does not say 2 fixes were applied:\n%s", s)
	}
	term.keys("q")
	// Only two fixes were chosen: the others are left, exit 1 as --yes.
	if code := term.exitCode(); code != "1" {
		t.Fatalf("exit %s; the terminal shows:\n%s", code, term.screen())
	}
	if s := term.screen(); !strings.Contains(s, "applied replicas,pdb") || !strings.Contains(s, " left (") {
		t.Errorf("no summary after the TUI:\n%s", s)
	}
	if got := kubectl(t, "get", "deploy/web", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("spec.replicas = %s on the server, want 2", got)
	}
	if got := kubectl(t, "get", "pdb/web", "-n", ns, "-o", "jsonpath={.spec.maxUnavailable}"); got != "1" {
		t.Errorf("the PDB's maxUnavailable = %q, want 1", got)
	}
}

// The guestbook tutorial applied with plain kubectl apply -f: the
// replicas fix (said safe with replicas.singleton=ok) would change a field
// kubectl's client-side apply owns, so
// it is held back with its owner named, in the list and on the confirm
// screen; the confirm screen's f takes it; quitting still changes nothing.
func TestTUIOwnerBadge(t *testing.T) {
	ns := newNamespace(t)
	kubectl(t, "apply", "-n", ns, "-f", corpus(t, "guestbook/guestbook-all-in-one.yaml"))
	waitRollout(t, ns, "deploy/redis-master")

	// A second Redis master is needs-human unless the user says copies
	// are safe; then the manifest's owner holds the fix back.
	term := newTerminal(t, "kubectl harden deploy/redis-master -n "+ns+" --set replicas.singleton=ok")
	s := term.waitFor("findings", 30*time.Second)
	for _, want := range []string{"[!] HIGH replicas", "⚑ kubectl apply", "1 held", "held: .spec.replicas is owned by kubectl-client-side-apply"} {
		if !strings.Contains(s, want) {
			t.Errorf("the first screen lacks %q:\n%s", want, s)
		}
	}
	term.keys("y")
	s = term.waitFor("not applied", 30*time.Second)
	if !strings.Contains(s, "! replicas — .spec.replicas is owned by kubectl-client-side-apply") {
		t.Errorf("the confirm screen does not name the held fix and its owner:\n%s", s)
	}
	term.keys("f")
	term.waitFor("forced: replicas", 30*time.Second)
	if !strings.Contains(term.waitFor("dry-run passed", 30*time.Second), "create "+ns+"/poddisruptionbudget.policy/redis-master") {
		t.Errorf("forcing replicas did not plan the PDB that waited for it:\n%s", term.screen())
	}
	// Taking the held fields is an edit: q asks before dropping it; y
	// quits with nothing changed and the findings left (exit 1).
	term.keys("q")
	term.waitFor("quit and drop 1 edit? y/n", 10*time.Second)
	term.keys("y")
	if code := term.exitCode(); code != "1" {
		t.Fatalf("q, y: exit %s, want 1; the terminal shows:\n%s", code, term.screen())
	}
	if got := kubectl(t, "get", "deploy/redis-master", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "1" {
		t.Errorf("spec.replicas = %s after quitting, want 1", got)
	}
}

// Quitting changes nothing and exits 1 like the report, findings being
// left; with no terminal there is no TUI.
func TestTUIQuitChangesNothing(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	before := unwritten(t, ns, "deploy/web")

	term := newTerminal(t, "NO_COLOR=1 kubectl harden deploy/web -n "+ns)
	term.waitFor("findings", 30*time.Second)
	term.keys("?")
	term.waitFor("write overlay", 5*time.Second)
	term.keys("q")
	if code := term.exitCode(); code != "1" {
		t.Fatalf("q: exit %s, want 1 (findings left); the terminal shows:\n%s", code, term.screen())
	}
	if s := term.screen(); !strings.Contains(s, "nothing was changed") || !strings.Contains(s, " left (") {
		t.Errorf("no word after quitting:\n%s", s)
	}
	if after := unwritten(t, ns, "deploy/web"); after != before {
		t.Errorf("quitting changed the Deployment: generation %s → %s", before, after)
	}

	// Piped (no terminal): the text report, as before.
	r := harden(t, "deploy/web", "-n", ns)
	if r.code != 1 || !strings.Contains(r.stdout, "to fix: --fix=") {
		t.Errorf("without a terminal: %s", r)
	}
}

// kubectl harden audit on a terminal browses the namespace's workloads,
// worst first; enter opens a workload's fix view and q comes back.
func TestTUIAuditBrowser(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deploy/web")

	term := newTerminal(t, "kubectl harden audit -n "+ns)
	s := term.waitFor("worst first", 30*time.Second)
	for _, want := range []string{"kubectl harden audit", "1 namespace", "deployment/web", "deployment/api", "statefulset/db", "cronjob/report"} {
		if !strings.Contains(s, want) {
			t.Errorf("the browser lacks %q:\n%s", want, s)
		}
	}
	term.keys("/")
	term.keys(strings.Split("worker", "")...)
	term.keys("Enter", "Enter")
	s = term.waitFor("space toggle fix", 30*time.Second)
	if !strings.Contains(s, "deployment/worker") {
		t.Errorf("enter on the filtered list did not open deployment/worker:\n%s", s)
	}
	term.keys("q")
	term.waitFor("worst first", 10*time.Second)
	// A kept filter: esc clears it and the browser stays.
	term.keys("Escape")
	term.waitFor("deployment/api", 10*time.Second)
	term.keys("q")
	// As kubectl harden audit: findings are pending, exit 1.
	if code := term.exitCode(); code != "1" {
		t.Fatalf("exit %s, want 1; the terminal shows:\n%s", code, term.screen())
	}
}

// Esc clears a filter, typed or kept, and the view stays; quitting with
// an edit asks "quit and drop N edits? y/n": n stays, ctrl+c twice aborts
// with exit 130 and nothing changed.
func TestTUIEscAndQuitPrompt(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	before := unwritten(t, ns, "deploy/web")

	term := newTerminal(t, "NO_COLOR=1 kubectl harden deploy/web -n "+ns)
	term.waitFor("space toggle fix", 30*time.Second)
	term.keys("/", "p", "r", "o", "b", "e")
	term.waitFor("filter probe", 5*time.Second)
	term.keys("Escape") // typed: cleared
	s := term.waitFor("findings · ", 5*time.Second)
	if strings.Contains(s, "filter probe") || !strings.Contains(s, "replicas") {
		t.Fatalf("esc did not clear the typed filter:\n%s", s)
	}
	term.keys("/", "p", "r", "o", "b", "e", "Enter")
	term.waitFor("filter probe", 5*time.Second)
	term.keys("Escape") // kept: cleared, still open
	term.waitFor("replicas", 5*time.Second)
	if s := term.screen(); strings.Contains(s, "filter probe") || !strings.Contains(s, "space toggle fix") {
		t.Fatalf("esc did not clear the kept filter:\n%s", s)
	}
	term.keys("Space") // replicas off: one edit
	term.keys("Escape")
	term.waitFor("quit and drop 1 edit? y/n", 5*time.Second)
	term.keys("n")
	term.waitFor("space toggle fix", 5*time.Second)
	term.keys("C-c")
	term.waitFor("ctrl+c again aborts", 5*time.Second)
	term.keys("C-c")
	if code := term.exitCode(); code != "130" {
		t.Fatalf("ctrl+c twice: exit %s, want 130; the terminal shows:\n%s", code, term.screen())
	}
	if s := term.screen(); !strings.Contains(s, "aborted, nothing was changed") {
		t.Errorf("no word after aborting:\n%s", s)
	}
	if after := unwritten(t, ns, "deploy/web"); after != before {
		t.Errorf("aborting changed the Deployment: generation %s → %s", before, after)
	}
}

// headerZones reads the ready pods per zone from the header ("zones
// zone-a:1 zone-b:1 · …").
func headerZones(t *testing.T, screen string) map[string]int {
	t.Helper()
	m := regexp.MustCompile(`zones ((?:\S+:\d+ ?)+)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no zones in the header:\n%s", screen)
	}
	out := map[string]int{}
	for _, z := range strings.Fields(m[1]) {
		i := strings.LastIndex(z, ":")
		n, err := strconv.Atoi(z[i+1:])
		if err != nil {
			t.Fatalf("zone %q: %v", z, err)
		}
		out[z[:i]] = n
	}
	return out
}

// unwritten is the workload's generation, failing the test when harden is
// one of its field managers: what any write of harden's leaves (every
// write is a server-side apply; a new spec is a new generation). Not the
// resourceVersion: the deployment controller is still writing the status
// (and its revision annotation) of a just-applied shop.
func unwritten(t *testing.T, ns, ref string) string {
	t.Helper()
	got := kubectl(t, "get", ref, "-n", ns, "-o", `jsonpath={.metadata.generation} {.metadata.managedFields[*].manager}`)
	if strings.Contains(got, "kubectl-harden") {
		t.Fatalf("%s has harden as a field manager: %s", ref, got)
	}
	return strings.Fields(got)[0]
}
