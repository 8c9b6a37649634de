package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/version"
)

func TestVersionOutputs(t *testing.T) {
	version.Version, version.Commit, version.Date = "v1.2.3", "abc1234", "2026-11-22T00:00:00Z"
	run := func(args ...string) (string, int) {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		code := Execute(streams, args)
		return out.String() + errOut.String(), code
	}
	out, code := run("version")
	if code != 0 || !strings.HasPrefix(out, "kubectl harden v1.2.3 (commit abc1234, built 2026-11-22T00:00:00Z") {
		t.Errorf("version: %d %q", code, out)
	}
	out, code = run("version", "-o", "json")
	var info version.Info
	if err := json.Unmarshal([]byte(out), &info); code != 0 || err != nil || info.Version != "v1.2.3" || info.Commit != "abc1234" {
		t.Errorf("version -o json: %d %v %q", code, err, out)
	}
	out, code = run("version", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "version: v1.2.3\n") {
		t.Errorf("version -o yaml: %d %q", code, out)
	}
	out, code = run("version", "-o", "xml")
	if code != ExitError || out != "error: --output must be 'json' or 'yaml', got \"xml\"\n" {
		t.Errorf("version -o xml: %d %q", code, out)
	}
}

func TestHelpReadsLikeKubectl(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Execute(streams, []string{"--help"}); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	help := out.String()
	for _, want := range []string{"Usage:\n  kubectl harden [(TYPE", "kubectl harden [command]", "--namespace", "--context", "-l, --selector", "-f, --filename"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
