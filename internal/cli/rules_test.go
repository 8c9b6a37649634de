package cli

import (
	"os"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// docs/rules.md is generated from the registry; CI fails when it is stale.
func TestRulesDocUpToDate(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Execute(streams, []string{"rules", "-o", "markdown"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	want, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Error("docs/rules.md is stale: run make docs")
	}
}

func TestRulesTable(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Execute(streams, []string{"rules"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, id := range []string{"replicas", "pdb", "spread", "readiness-probe", "liveness-probe", "startup-probe", "rollout", "priority-class", "pod-health"} {
		if !strings.Contains(out.String(), id) {
			t.Errorf("rules table lacks %s", id)
		}
	}
	// Aliases, in their own column: probes selects the three probe rules.
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "ALIASES") {
		t.Errorf("header: %q", lines[0])
	}
	probes := 0
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 1 && strings.HasSuffix(f[0], "-probe") && f[1] == "probes" {
			probes++
		}
	}
	if probes != 3 {
		t.Errorf("%d probe rules list the alias probes:\n%s", probes, out)
	}
}

func TestParseSelection(t *testing.T) {
	sel, err := parseSelection([]string{"pdb"}, nil, []string{"readiness-probe.path=/ready", "readiness-probe.port=http"})
	if err != nil || sel.Params["readiness-probe"]["path"] != "/ready" || sel.Params["readiness-probe"]["port"] != "http" {
		t.Errorf("got %+v, %v", sel, err)
	}
	for _, bad := range []string{"path=/ready", "readiness-probe.path", ".x=1"} {
		if _, err := parseSelection(nil, nil, []string{bad}); err == nil {
			t.Errorf("--set %s should be refused", bad)
		}
	}
}
