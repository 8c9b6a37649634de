package policy_test

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/policy"
)

// head is a policy file's first lines: line 3 is "rules:" or "exemptions:".
const head = "apiVersion: harden.kubectl.dev/v1alpha1\nkind: Policy\n"

// Every check names the file and the line of the offending node, and the
// first problem wins: apiVersion and kind, the rules in ID order, then
// the exemptions in file order, each field in a fixed order.
func TestCheckErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"kind", "apiVersion: harden.kubectl.dev/v1alpha1\nkind: Pod\n", `p.yaml:1: apiVersion "harden.kubectl.dev/v1alpha1", kind "Pod": a policy file is apiVersion: harden.kubectl.dev/v1alpha1, kind: Policy`},
		{"kind before rules", "kind: Pod\nrules:\n  nope: {}\n", `p.yaml:1: apiVersion "", kind "Pod"`},
		{"rules in ID order", head + "rules:\n  zzz: {}\n  aaa: {}\n", `p.yaml:5: rules: unknown rule "aaa"`},
		{"severity", head + "rules:\n  pdb:\n    enabled: true\n    severity: huge\n", `p.yaml:6: rules.pdb.severity: `},
		{"severity before params", head + "rules:\n  pdb:\n    params: {nope: x}\n    severity: huge\n", `p.yaml:6: rules.pdb.severity: `},
		{"params in name order", head + "rules:\n  pdb:\n    params:\n      zz: x\n      aa: y\n", `p.yaml:7: rules.pdb.params: rule pdb has no parameter "aa" (it has: max-unavailable)`},
		{"rule without parameters", head + "rules:\n  privileged:\n    params:\n      x: y\n", `p.yaml:6: rules.privileged.params: rule privileged has no parameter "x" (it has no parameters)`},
		{"rules before exemptions", head + "exemptions:\n- reason: r\n  rules: [all]\n  workloads: [bad]\nrules:\n  nope: {}\n", `p.yaml:8: rules: unknown rule "nope"`},
		{"reason first", head + "exemptions:\n- rules: []\n  selector: '!!'\n", `p.yaml:4: exemptions[0]: reason is required: say why the rule does not apply`},
		{"blank reason", head + "exemptions:\n- reason: ' '\n  rules: [all]\n", `p.yaml:4: exemptions[0]: reason is required`},
		{"rules required", head + "exemptions:\n- reason: r\n  namespaces: [a]\n", `p.yaml:4: exemptions[0]: rules is required: rule IDs, aliases, categories or all`},
		{"rule word", head + "exemptions:\n- reason: r\n  rules:\n  - pdb\n  - nope\n", `p.yaml:6: exemptions[0].rules: unknown rule "nope"`},
		{"criterion", head + "exemptions:\n- reason: r\n  rules: [all]\n", `p.yaml:4: exemptions[0]: give namespaces, selector or workloads: an exemption of every workload is rules.ID.enabled: false`},
		{"selector", head + "exemptions:\n- reason: r\n  rules: [all]\n  selector: 'a in (b'\n", `p.yaml:6: exemptions[0].selector: `},
		{"selector before workloads", head + "exemptions:\n- reason: r\n  rules: [all]\n  workloads: [a/b/c/d]\n  selector: 'a in (b'\n", `p.yaml:7: exemptions[0].selector: `},
		{"workloads", head + "exemptions:\n- reason: r\n  rules: [all]\n  workloads:\n  - deployment/web\n  - web\n", `p.yaml:7: exemptions[0].workloads: "web": use KIND/NAME or NAMESPACE/KIND/NAME, e.g. deployment/web`},
		{"workloads before expires", head + "exemptions:\n- reason: r\n  rules: [all]\n  expires: soon\n  workloads: [a/b/c/d]\n", `p.yaml:7: exemptions[0].workloads: "a/b/c/d"`},
		{"expires", head + "exemptions:\n- reason: r\n  rules: [all]\n  namespaces: [a]\n  expires: soon\n", `p.yaml:7: exemptions[0].expires: "soon" is not a date: use YYYY-MM-DD, e.g. 2026-12-31`},
		{"exemptions in order", head + "exemptions:\n- reason: r\n  rules: [all]\n  namespaces: [a]\n- reason: r\n  rules: [all]\n", `p.yaml:7: exemptions[1]: give namespaces`},
		{"empty file", "", `p.yaml:1: apiVersion "", kind ""`},
		{"comments only", "\n# nothing\n", `p.yaml:1: apiVersion "", kind ""`},
	} {
		_, err := policy.Parse("p.yaml", []byte(tc.file))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q…", tc.name, err, tc.want)
		}
	}
}
