package all

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// TestFolderNamesMatchRuleIDs checks that every rule a plugin registers
// lives in plugins/<its ID without dashes>, so that the folder of a rule
// is found from its ID (pod-security-labels → plugins/podsecuritylabels).
// Rules the core registers (the policy file's expired exemption) are not
// plugins and are left out.
func TestFolderNamesMatchRuleIDs(t *testing.T) {
	var metas []rules.Meta
	var types []reflect.Type
	for _, r := range rules.All() {
		metas, types = append(metas, r.Meta()), append(types, reflect.TypeOf(r))
	}
	for _, r := range rules.NamespaceRules() {
		metas, types = append(metas, r.Meta()), append(types, reflect.TypeOf(r))
	}
	checked := 0
	for i, m := range metas {
		if strings.Contains(types[i].PkgPath(), "/internal/") && !strings.Contains(types[i].PkgPath(), "/plugins/") {
			continue // a core rule, not a plugin
		}
		dir := filepath.Join("..", strings.ReplaceAll(m.ID, "-", ""))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Errorf("rule %s: want its plugin in plugins/%s", m.ID, filepath.Base(dir))
		}
		checked++
	}
	if checked < 30 {
		t.Fatalf("checked %d plugin rules; want every plugin (30 or more)", checked)
	}
}
