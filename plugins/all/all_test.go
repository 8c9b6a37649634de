package all

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Every plugin directory is registered, and every rule's metadata is whole.
func TestRegistry(t *testing.T) {
	dirs, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	plugins := 0
	for _, d := range dirs {
		if d.IsDir() && d.Name() != "all" && d.Name() != "internal" {
			plugins++
			if m, _ := filepath.Glob(filepath.Join("..", d.Name(), "testdata", "failure*.yaml")); len(m) == 0 {
				t.Errorf("plugin %s has no testdata/failure*.yaml fixtures", d.Name())
			}
		}
	}
	var metas []rules.Meta
	for _, r := range rules.All() {
		metas = append(metas, r.Meta())
	}
	for _, r := range rules.NamespaceRules() {
		metas = append(metas, r.Meta())
	}
	if len(metas) != plugins {
		t.Errorf("%d rules registered, %d plugin directories", len(metas), plugins)
	}
	kebab := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	for _, m := range metas {
		if !kebab.MatchString(m.ID) || m.Title == "" || m.Category == "" || m.Severity == 0 || len(m.Kinds) == 0 ||
			len(m.Why) < 80 || len(m.Remediation) < 40 {
			t.Errorf("rule %q has incomplete metadata: %+v", m.ID, m)
		}
		if strings.HasSuffix(m.Why, " ") {
			t.Errorf("rule %s: trailing space in why", m.ID)
		}
	}
}
