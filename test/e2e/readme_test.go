package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
)

// The README's examples are executable: TestREADMECommands pastes every
// command of its Usage, Exports, Audit and "Fixing from the audit" sections
// into a shell, in README order, against a freshly deployed demo shop, and
// TestREADMEOutputs compares each output the README shows (the
// abridged `kubectl harden deploy/web -n demo -o text`, the audit table and the
// terminal UI capture) with a real run on another fresh shop.
//
// When the output changes on purpose, regenerate the README's blocks:
//
//	HARDEN_README_UPDATE=1 HARDEN_E2E_KEEP_CLUSTER=1 go test -count=1 -run 'TestREADMEOutputs' ./test/e2e/
//
// The update keeps the README's `...` elisions where the lines around them
// are unchanged (so keep an unchanged line on each side of a `...`, such as
// the report's `metrics` line and the blank line after it), and writes the
// volatile parts (pod name suffixes, nodes, zones, digests, ages) as the
// stable values of readmeMasks.

// readmeUpdate is the switch that rewrites the README's shown outputs
// from the real ones instead of failing on a difference.
const readmeUpdate = "HARDEN_README_UPDATE"

// readmeCommandSections are the headings (prefixes of the heading text)
// whose ```sh blocks hold commands to paste, and whose plain blocks
// starting with `$ kubectl harden` show an output. The UI section is
// read for its shown outputs only (it has no ```sh block).
var readmeCommandSections = []string{"Usage", "Interactive: the terminal UI", "Exports", "Audit a namespace", "Many clusters", "Fixing from the audit"}

// mdBlock is one fenced block of README.md.
type mdBlock struct {
	section string   // the text of the heading the block is under
	lang    string   // the fence's info string: "sh", "" (plain)…
	start   int      // index in the README's lines of the block's first content line
	lines   []string // the content, fences excluded
}

// readREADME returns README.md's lines and its fenced blocks under the
// command sections, in file order.
func readREADME(t *testing.T) ([]string, []mdBlock) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var blocks []mdBlock
	section := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "#!") {
			section = strings.TrimSpace(strings.TrimLeft(l, "#"))
			continue
		}
		if !strings.HasPrefix(l, "```") {
			continue
		}
		blk := mdBlock{section: section, lang: strings.TrimSpace(strings.TrimPrefix(l, "```")), start: i + 1}
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			blk.lines = append(blk.lines, lines[i])
		}
		if readmeSection(section) {
			blocks = append(blocks, blk)
		}
	}
	return lines, blocks
}

// readmeSection reports whether a heading is one of readmeCommandSections.
func readmeSection(heading string) bool {
	for _, s := range readmeCommandSections {
		if strings.HasPrefix(heading, s) {
			return true
		}
	}
	return false
}

// readmeCommand is one command line of a ```sh block.
type readmeCommand struct {
	line    string // without its comment
	comment string // the trailing `# …`, if any
}

// readmeCommands are the command lines of the ```sh blocks, in README
// order.
func readmeCommands(blocks []mdBlock) []readmeCommand {
	var cmds []readmeCommand
	for _, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		for _, l := range b.lines {
			line := stripShellComment(l)
			c := readmeCommand{line: strings.TrimSpace(line), comment: strings.TrimSpace(l[len(line):])}
			if c.line != "" {
				cmds = append(cmds, c)
			}
		}
	}
	return cmds
}

// stripShellComment cuts a `#` comment that starts a word outside quotes.
func stripShellComment(l string) string {
	var quote rune
	prev := ' '
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return l[:i]
		}
		prev = r
	}
	return l
}

var (
	readmeNamespaceFlag = regexp.MustCompile(`(^|\s)-n demo(\s|$)`)
	readmeAllNamespaces = regexp.MustCompile(`(^|\s)-A(\s|$)`)
)

// pasteable is a README command as the test runs it in namespace ns:
// `-n demo` becomes `-n NS`; `-A` becomes `-n NS` too (the shared test
// cluster holds other tests' namespaces, being created and deleted: an
// audit of all of them would test them, not the README); `--yes` without a
// `--timeout` gets `--timeout=2m`, so a stuck rollout fails the test
// instead of hanging it for the default 5m.
func pasteable(cmd, ns string) string {
	cmd = readmeNamespaceFlag.ReplaceAllString(cmd, "${1}-n "+ns+"${2}")
	cmd = readmeAllNamespaces.ReplaceAllString(cmd, "${1}-n "+ns+"${2}")
	if strings.Contains(cmd, " --yes") && !strings.Contains(cmd, "--timeout") {
		cmd = strings.Replace(cmd, " --yes", " --yes --timeout=2m", 1)
	}
	return cmd
}

// readmeWantExit is the exit status each README command must end with on
// the demo shop, in README order (see the README's "Exit codes"): 0 for
// the commands that only print (rules, version, history, undo) and the
// plain shell lines of the exports (kubectl patch, jq); for the others 1
// is "findings remain" and is as fine as 0 — the shop keeps findings no
// fix makes go away (opt-in rules, fields kubectl apply owns) — and
// anything above 1 is an error — unless the line's comment says "exit 2"
// (a fleet audit with a context that may read nothing).
func readmeWantExit(cmd, comment string) (codes []int, why string) {
	if strings.Contains(comment, "exit 2") {
		return []int{2}, "its comment says exit 2"
	}
	if !strings.HasPrefix(cmd, "kubectl harden") {
		return []int{0}, "a shell line of the exports"
	}
	fields := strings.Fields(cmd)
	if len(fields) > 2 {
		switch fields[2] {
		case "rules", "version", "history", "undo":
			return []int{0}, "kubectl harden " + fields[2] + " reports no findings"
		}
	}
	return []int{0, 1}, "0 nothing left to fix, 1 findings remain"
}

// readmeDemoShop writes the demo shop of testdata/demo/shop.yaml with its
// namespace renamed into dir, at the same relative path, and applies it
// with plain kubectl apply -f, as a user does; it waits for the rollouts.
// Commands run in dir then find `-f testdata/demo/shop.yaml` as the README
// names it.
func readmeDemoShop(t *testing.T, dir, ns string) {
	t.Helper()
	shop, err := os.ReadFile(filepath.Join(env.root, "testdata/demo/shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.ReplaceAll(string(shop), "namespace: demo", "namespace: "+ns)
	manifest = strings.Replace(manifest, "name: demo\n", "name: "+ns+"\n", 1)
	path := filepath.Join(dir, "testdata", "demo", "shop.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	for _, ref := range []string{"deploy/web", "deploy/api", "deploy/worker", "sts/db"} {
		waitRollout(t, ns, ref)
	}
}

// shell runs one pasted line with bash in dir, bounded by 4 minutes (a
// `--yes` line may watch a rollout for its 2m timeout, then roll back).
func shell(t *testing.T, dir, line string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", line)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %q: %v", line, err)
	}
	return r
}

// Every command of the README's Usage, Exports, Audit and "Fixing from the
// audit" sections works when pasted, in README order, after `make demo`
// (here: the demo shop applied with kubectl apply -f into a fresh
// namespace). The UI line runs without a terminal, so it prints the text
// report, as the README says.
func TestREADMECommands(t *testing.T) {
	for _, tool := range []string{"jq", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to paste the README's commands: %v", tool, err)
		}
	}
	_, blocks := readREADME(t)
	cmds := readmeCommands(blocks)
	// A floor, so that a README reorganised under other headings does not
	// leave this test running nothing.
	if len(cmds) < 20 {
		t.Fatalf("found only %d commands in the README's sections %q: %q", len(cmds), readmeCommandSections, cmds)
	}
	ns := newNamespace(t)
	dir := t.TempDir()
	readmeDemoShop(t, dir, ns)
	for _, c := range cmds {
		cmd := c.line
		line := pasteable(cmd, ns)
		if strings.Contains(line, " -n demo") || strings.Contains(line, "-n=demo") {
			t.Errorf("%q: namespace demo left in the pasted line", cmd)
			continue
		}
		if strings.HasPrefix(cmd, "kubectl harden") && !strings.Contains(line, "-n "+ns) &&
			!strings.Contains(cmd, "-f ") && !regexp.MustCompile(`^kubectl harden (rules|version)\b`).MatchString(cmd) {
			t.Errorf("%q names no namespace: pasted after make demo, it reads the kubeconfig's namespace instead of demo", cmd)
		}
		start := time.Now()
		r := shell(t, dir, line)
		want, why := readmeWantExit(cmd, c.comment)
		t.Logf("exit %d in %.1fs: %s", r.code, time.Since(start).Seconds(), line)
		if !containsInt(want, r.code) {
			t.Errorf("README command %q exits %d, want %v (%s):\n%s", cmd, r.code, want, why, r)
		} else if r.code < 2 && (strings.Contains(r.stderr, "error:") || strings.Contains(r.stderr, "Error from server")) {
			t.Errorf("README command %q exits %d but reports an error:\n%s", cmd, r.code, r)
		}
		// The UI's line, run here without a terminal, prints the text
		// report as its comment says.
		if strings.Contains(c.comment, "interactive UI") && (!strings.Contains(c.comment, "piped: the text report") || !strings.Contains(r.stdout, "score ")) {
			t.Errorf("%q (%s): without a terminal it prints %q; the comment should say what a pipe gets", cmd, c.comment, r.stdout)
		}
	}
	// What the exports wrote is what they say: the review line names each
	// fix of fixes.json, the overlay builds.
	if _, err := os.Stat(filepath.Join(dir, "overlay", "kustomization.yaml")); err != nil {
		t.Errorf("-o kustomize=overlay/ wrote no overlay: %v", err)
	}
	if r := shell(t, dir, "kubectl kustomize overlay/ >/dev/null"); r.code != 0 {
		t.Errorf("kubectl kustomize overlay/ does not build the overlay:\n%s", r)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readmeMasks turn the parts of an output that differ between two runs on
// the same manifest into the stable values the README shows. They are
// applied to both sides, so the README may hold any of those values.
var readmeMasks = []struct {
	re *regexp.Regexp
	to string
}{
	// A pod's random suffix, after its controller's hash (both from
	// Kubernetes' consonants-and-digits alphabet, no vowels).
	{regexp.MustCompile(`\b([a-z][a-z0-9-]*-[bcdfghjklmnpqrstvwxz2456789]{6,10})-[bcdfghjklmnpqrstvwxz2456789]{5}\b`), "${1}-pvbht"},
	// Where the scheduler put the pods: kwok's node names and zones.
	{regexp.MustCompile(`\bkwok-node-[0-9]+\b`), "kwok-node-0"},
	{regexp.MustCompile(`\(zone-[a-z]\)`), "(zone-a)"},
	{regexp.MustCompile(`\bzone-[a-z]([=:][0-9]+)`), "zone-a${1}"},
	// Image digests the kubelet (here kwok's stages) reports.
	{regexp.MustCompile(`@sha256:[0-9a-f]{64}`), "@sha256:" + strings.Repeat("0", 64)},
	// Ages.
	{regexp.MustCompile(`\b[0-9][0-9.hms]* ago\b`), "5m ago"},
	// PriorityClasses are cluster-wide: other tests of the run create some.
	{regexp.MustCompile(`\bcluster defines [0-9]+\b`), "cluster defines 2"},
}

// maskLine applies readmeMasks and drops trailing blanks.
func maskLine(l string) string {
	for _, m := range readmeMasks {
		l = m.re.ReplaceAllString(l, m.to)
	}
	return strings.TrimRight(l, " \t")
}

// asDemo rewrites a real output taken in namespace ns as if it were taken
// in namespace demo: the audit table's NAMESPACE column is realigned for
// the shorter name, the terminal UI's header keeps its score at the right
// edge, and the volatile parts are masked. Trailing empty lines go.
func asDemo(out, ns string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	width := -1 // where the audit table's second column starts
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "NAMESPACE "):
			width = len(l) - len(strings.TrimLeft(l[len("NAMESPACE"):], " "))
			lines[i] = padRight("NAMESPACE", len("NAMESPACE")+2) + l[width:]
		case width > 0 && strings.HasPrefix(l, ns+" ") && len(l) > width:
			lines[i] = padRight("demo", len("NAMESPACE")+2) + l[width:]
		case strings.Contains(l, "  ns "+ns+"  ") && strings.Contains(l, " score "):
			// The UI header: name, ns, ctx on the left, the score
			// right-aligned to the terminal's width.
			cells := utf8.RuneCountInString(l)
			cut := strings.LastIndex(l, " score ")
			left := strings.TrimRight(strings.Replace(l[:cut], "  ns "+ns+"  ", "  ns demo  ", 1), " ")
			right := l[cut+1:]
			lines[i] = left + strings.Repeat(" ", max(cells-utf8.RuneCountInString(left)-utf8.RuneCountInString(right), 1)) + right
		}
		lines[i] = maskLine(strings.ReplaceAll(lines[i], ns, "demo"))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func padRight(s string, n int) string {
	return s + strings.Repeat(" ", max(n-len(s), 0))
}

// isElision is a README line standing for any lines of the real output.
func isElision(l string) bool { return strings.TrimSpace(l) == "..." }

// matchShown reports whether the real lines are what the README shows:
// equal line by line (masked), a `...` line matching any lines, none
// included.
func matchShown(shown, real []string) bool {
	memo := map[[2]int]bool{}
	var match func(i, j int) bool
	match = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(shown):
			ok = j == len(real)
		case isElision(shown[i]):
			ok = match(i+1, j) || (j < len(real) && match(i, j+1))
		default:
			ok = j < len(real) && maskLine(shown[i]) == real[j] && match(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return match(0, 0)
}

// abridgeAsShown is the real output abridged the README's way, which is
// what HARDEN_README_UPDATE writes: lines the README shows that are still
// there stay; where the README has only a `...` between two such lines,
// the real lines there stay elided; anywhere else (a line changed, added
// or gone) the real lines are written in full.
func abridgeAsShown(shown, real []string) []string {
	masked := make([]string, len(shown))
	for i, l := range shown {
		masked[i] = maskLine(l)
	}
	var out []string
	m := difflib.NewMatcher(masked, real)
	for _, op := range m.GetOpCodes() {
		a, b := shown[op.I1:op.I2], real[op.J1:op.J2]
		onlyElisions := len(a) > 0
		for _, l := range a {
			onlyElisions = onlyElisions && isElision(l)
		}
		switch {
		case op.Tag == 'e':
			out = append(out, b...)
		case onlyElisions:
			out = append(out, a[0])
		default:
			out = append(out, b...)
		}
	}
	return out
}

// shownDiff is a unified diff from the README's block to the real output
// abridged the same way.
func shownDiff(name string, shown, real []string) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(strings.Join(shown, "\n") + "\n"), B: difflib.SplitLines(strings.Join(real, "\n") + "\n"),
		FromFile: "README.md: " + name, ToFile: "real run (masked)", Context: 2,
	})
	if err != nil {
		return err.Error()
	}
	return d
}

// readmeShown is one output the README shows and where it is.
type readmeShown struct {
	name  string // for messages: the command, or "terminal UI capture"
	block mdBlock
	body  []string // the shown lines, without the `$ command` line
}

// The outputs the README shows are what the commands print on a fresh
// demo shop: the abridged `kubectl harden deploy/web -n demo`, the audit
// table and the terminal UI's first screen at 80×24 (tmux). A difference
// fails with a unified diff, README against the real output;
// HARDEN_README_UPDATE=1 writes the real output into the README instead.
func TestREADMEOutputs(t *testing.T) {
	lines, blocks := readREADME(t)
	var shown []readmeShown
	var capture *readmeShown
	for _, b := range blocks {
		if b.lang != "" || len(b.lines) == 0 {
			continue
		}
		switch first := b.lines[0]; {
		case strings.HasPrefix(first, "$ kubectl harden "):
			shown = append(shown, readmeShown{name: strings.TrimPrefix(first, "$ "), block: b, body: b.lines[1:]})
		case strings.HasPrefix(b.section, "Interactive") && strings.Contains(first, "  ns demo  "):
			capture = &readmeShown{name: "terminal UI capture", block: b, body: b.lines}
		}
	}
	if len(shown) < 2 || capture == nil {
		t.Fatalf("the README shows %d command outputs (want the abridged report and the audit) and a UI capture: %v", len(shown), capture != nil)
	}
	ns := newNamespace(t)
	readmeDemoShop(t, t.TempDir(), ns)

	update := os.Getenv(readmeUpdate) != ""
	edits := map[int]readmeShown{} // by block start: the new body
	check := func(s readmeShown, real []string) {
		if matchShown(s.body, real) {
			return
		}
		abridged := abridgeAsShown(s.body, real)
		if update {
			s.body = abridged
			edits[s.block.start] = s
			t.Logf("README: %s rewritten from the real output", s.name)
			return
		}
		t.Errorf("the README shows another output for %s (%s=1 rewrites it):\n%s", s.name, readmeUpdate, shownDiff(s.name, s.body, abridged))
	}
	for _, s := range shown {
		cmd := pasteable(s.name, ns)
		if strings.Contains(cmd, "--yes") {
			t.Fatalf("%q: a shown output must come from a command that changes nothing", s.name)
		}
		r := shell(t, t.TempDir(), cmd)
		if r.code > 1 {
			t.Fatalf("%s: %s", cmd, r)
		}
		check(s, asDemo(r.stdout, ns))
	}
	check(*capture, asDemo(readmeCapture(t, capture.body[0], ns), ns))

	if len(edits) > 0 {
		writeREADMEEdits(t, lines, edits)
	}
}

// readmeCapture opens the terminal UI on the workload the README's capture
// shows (its header's first word, e.g. deployment/web) in tmux at 80×24,
// waits for its first screen to settle and returns it; q then quits
// without changes (exit 1: the shop's findings are left).
func readmeCapture(t *testing.T, header, ns string) string {
	t.Helper()
	workload := strings.Fields(header)[0]
	term := newTerminal(t, fmt.Sprintf("kubectl harden %s -n %s", workload, ns))
	term.waitFor("findings", 30*time.Second)
	// Settled: the same screen twice, half a second apart.
	prev, screen := "", term.screen()
	for deadline := time.Now().Add(15 * time.Second); screen != prev && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		prev, screen = screen, term.screen()
	}
	term.keys("q")
	// Nothing changed and the shop has findings: exit 1, as the report.
	if code := term.exitCode(); code != "1" {
		t.Errorf("q in the UI: exit %s, want 1", code)
	}
	return screen
}

// writeREADMEEdits replaces the bodies of the edited blocks in README.md.
func writeREADMEEdits(t *testing.T, lines []string, edits map[int]readmeShown) {
	t.Helper()
	var out []string
	for i := 0; i < len(lines); i++ {
		s, ok := edits[i]
		if !ok {
			out = append(out, lines[i])
			continue
		}
		if s.name != "terminal UI capture" {
			out = append(out, "$ "+s.name)
		}
		out = append(out, s.body...)
		i += len(s.block.lines) - 1
	}
	if err := os.WriteFile(filepath.Join(env.root, "README.md"), []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}
