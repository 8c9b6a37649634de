package serviceaccounttoken

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// RoleBindings or ClusterRoleBindings that could not be listed: not seeing
// a binding proves nothing, so the token finding says so and needs a
// human; a binding that was seen still decides.
func TestBindingsUnknown(t *testing.T) {
	for _, res := range []string{inspect.ResRoleBindings, inspect.ResClusterRoleBindings} {
		unread := inspect.Unread{Resource: res, Verb: "list", Reason: inspect.ReasonForbidden}
		s := rulestest.Load(t, "testdata/failure-unbound.yaml")
		s.Unread = []inspect.Unread{unread}
		results, err := rules.Evaluate(s, rules.Selection{Fix: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range results {
			if r.Rule != id || r.Field != "automountServiceAccountToken" {
				continue
			}
			found = true
			if r.Status != rules.StatusNeedsHuman || r.Fix != nil || !strings.Contains(r.Message, "whether a binding grants it rights is unknown (RBAC bindings unknown: "+res+" forbidden)") ||
				!strings.Contains(r.Reason, "kubectl auth can-i --list --as=system:serviceaccount:") {
				t.Errorf("%s: %+v", res, r)
			}
		}
		if !found {
			t.Errorf("%s: no token finding (a false ok)", res)
		}
		s = rulestest.Load(t, "testdata/pass-bound.yaml")
		s.Unread = []inspect.Unread{unread}
		for _, f := range (Rule{}).Check(s) {
			if f.Field == "automountServiceAccountToken" {
				t.Errorf("%s: a binding that was read still decides: %+v", res, f)
			}
		}
	}
}
