package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// A --set wins over the policy's default for the same parameter; the
// policy's other defaults stay.
func TestWithPolicyParams(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(`apiVersion: harden.kubectl.dev/v1alpha1
kind: Policy
rules:
  readiness-probe: {params: {path: /healthz, port: http}}
  pdb: {params: {max-unavailable: "25%"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := parseSelection(nil, nil, []string{"readiness-probe.path=/ready"})
	if err != nil {
		t.Fatal(err)
	}
	sel = withPolicy(sel, p)
	if sel.Policy == nil {
		t.Fatal("no policy in the selection")
	}
	for id, want := range map[string]rules.Params{"readiness-probe": {"path": "/ready", "port": "http"}, "pdb": {"max-unavailable": "25%"}} {
		for k, v := range want {
			if sel.Params[id][k] != v {
				t.Errorf("%s.%s = %q, want %q", id, k, sel.Params[id][k], v)
			}
		}
	}
	off, err := policy.Parse("p.yaml", []byte("apiVersion: harden.kubectl.dev/v1alpha1\nkind: Policy\nrules: {rollout: {enabled: false}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := selectionWithPolicy(rules.Selection{Fix: []string{"pdb", "rollout"}}, off); err == nil || !strings.Contains(err.Error(), "--fix=rollout: rule rollout is off in policy p.yaml") {
		t.Errorf("--fix naming a rule the policy turns off: %v", err)
	}
	if _, err := selectionWithPolicy(rules.Selection{Fix: []string{"all"}}, off); err != nil {
		t.Errorf("--fix=all refused: %v", err)
	}
	if none := withPolicy(rules.Selection{}, nil); none.Policy != nil {
		t.Error("a nil policy is a non-nil rules.Policy")
	}
}

// --config FILE, --config= (none) and discovery from the working directory.
func TestLoadPolicyFlag(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, policy.FileName)
	if err := os.WriteFile(file, []byte("apiVersion: harden.kubectl.dev/v1alpha1\nkind: Policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	load := func(args ...string) *policy.Policy {
		t.Helper()
		cmd := &cobra.Command{}
		addConfigFlag(cmd)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		p, err := loadPolicy(cmd)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := load(); p == nil || p.Ref.Path != file {
		t.Errorf("discovered: %+v", p)
	}
	if p := load("--config="); p != nil {
		t.Errorf("--config= loaded %s", p.Ref.Path)
	}
	if p := load("--config", file); p == nil || p.Ref.Path != file {
		t.Errorf("--config FILE: %+v", p)
	}
}
