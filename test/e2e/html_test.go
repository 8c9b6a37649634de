package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// xssImage is testdata/e2e/html-xss.yaml's image: markup that would set
// the page's title if it ran.
const xssImage = `registry.example/shop<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`

// The HTML report in a real browser (headless Chromium): the demo shop
// and a workload whose image holds markup, audited with -o html=FILE.
// The DOM after load holds the JSON report's counts, the worst workload
// first and a fix command per fixable workload; the markup stays text;
// a 1280×2000 screenshot is a picture, not a blank page.
func TestAuditHTMLBrowser(t *testing.T) {
	browser := chromium(t)
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	applyFile(t, ns, "testdata/e2e/html-xss.yaml")
	waitShop(t, ns)

	r := harden(t, "audit", "-n", ns, "-o", "json")
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 {
		t.Fatalf("json: %v\n%s", err, r)
	}
	if rep.Workloads != 6 || len(rep.Namespaces) != 1 {
		t.Fatalf("json: %d workloads in %d namespaces, want 6 in 1", rep.Workloads, len(rep.Namespaces))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.html")
	r = harden(t, "audit", "-n", ns, "-o", "html="+file)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "wrote the audit report to "+file) {
		t.Fatalf("-o html=FILE: want exit 1 (findings pending), nothing on stdout and where it wrote:\n%s", r)
	}
	// -o html alone writes the same page to stdout.
	if r := harden(t, "audit", "-n", ns, "-o", "html"); r.code != 1 || !strings.HasPrefix(r.stdout, "<!DOCTYPE html>") {
		t.Errorf("-o html: %s", r)
	}

	dom := runBrowser(t, browser, dir, "--dump-dom", "file://"+file)
	checkDOM(t, dom, ns, &rep)

	shot := filepath.Join(dir, "audit.png")
	runBrowser(t, browser, dir, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars", "file://"+file)
	checkScreenshot(t, shot, 1280, 2000)
}

// checkDOM compares the rendered page with the JSON report.
func checkDOM(t *testing.T, dom, ns string, rep *audit.Report) {
	t.Helper()
	lower := strings.ToLower(dom)
	// Nothing injected ran or was parsed as an element.
	if m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(dom); m == nil || strings.Contains(m[1], "pwned") || !strings.HasPrefix(m[1], "kubectl harden audit") {
		t.Errorf("title after load: %q", m)
	}
	if strings.Contains(lower, "<img") || strings.Contains(lower, "<script") {
		t.Errorf("the DOM holds an img or script element:\n%s", dom)
	}
	// Chromium serializes text escaping <, > and & only.
	escaped := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(xssImage)
	if !strings.Contains(dom, escaped) {
		t.Errorf("the DOM lacks the image as text %q", escaped)
	}

	if !strings.Contains(dom, fmt.Sprintf(`<span class="cluster-score" data-score="%d">%d</span>`, rep.Score, rep.Score)) {
		t.Errorf("the DOM lacks the score %d", rep.Score)
	}
	if !strings.Contains(dom, fmt.Sprintf(`<span class="workload-count" data-count="%d">%d</span>`, rep.Workloads, rep.Workloads)) {
		t.Errorf("the DOM lacks the workload count %d", rep.Workloads)
	}
	for sev, n := range map[string]int{"critical": rep.Pending.Critical, "high": rep.Pending.High, "medium": rep.Pending.Medium, "low": rep.Pending.Low} {
		if !strings.Contains(dom, fmt.Sprintf(`data-severity="%s"><span class="n sev-%s" data-count="%d">%d</span>`, sev, sev, n, n)) {
			t.Errorf("the DOM lacks %d %s pending", n, sev)
		}
	}
	if got, want := strings.Count(dom, `<li class="finding" `), rep.Pending.AtLeast(rules.Low); got != want {
		t.Errorf("the DOM lists %d findings, the JSON report %d pending", got, want)
	}

	// Worst first: the JSON report sorts the namespace's workloads so.
	rows := regexp.MustCompile(`<tr class="workload-row" data-ref="([^"]+)"`).FindAllStringSubmatch(dom, -1)
	wls := rep.Namespaces[0].Workloads
	if len(rows) != len(wls) {
		t.Fatalf("the DOM has %d workload rows, want %d", len(rows), len(wls))
	}
	worst := wls[0]
	for _, w := range wls {
		if w.Score < worst.Score {
			worst = w
		}
	}
	if first := rows[0][1]; first != strings.ToLower(worst.Kind)+"/"+worst.Name {
		t.Errorf("first row %s, want the worst workload %s/%s (score %d)", first, worst.Kind, worst.Name, worst.Score)
	}
	commands := 0
	for _, w := range wls {
		ids := audit.FixableRules(w)
		if len(ids) == 0 {
			continue
		}
		commands++
		cmd := report.FixCommand(ns, w.Kind, w.Name, ids)
		if !strings.Contains(dom, `<code class="fix-command">`+html.EscapeString(cmd)+`</code>`) {
			t.Errorf("the DOM lacks the fix command %q", cmd)
		}
	}
	if commands < 5 {
		t.Errorf("only %d workloads have a fix command", commands)
	}
}

// checkScreenshot decodes the PNG: this size, and not one colour.
func checkScreenshot(t *testing.T, path string, width, height int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != width || b.Dy() != height {
		t.Errorf("screenshot %dx%d, want %dx%d", b.Dx(), b.Dy(), width, height)
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	// Text, bars and badges antialiased: many colours; a blank page has one.
	if len(colours) < 20 {
		t.Errorf("screenshot has %d colours: blank?", len(colours))
	}
}

// chromium finds the headless browser: a test skipped without it, but
// in CI (CI=true, where .ci/run installs it) a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium): the HTML report's browser test needs it")
	return ""
}

// runBrowser runs headless Chromium with its own profile in dir and
// returns its stdout.
func runBrowser(t *testing.T, browser, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--no-first-run", "--disable-extensions"}, args...)
	cmd := exec.CommandContext(ctx, browser, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
