package privileged

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "privileged init and app containers, named", Failure: "testdata/failure-privileged.yaml", Fixed: "testdata/fixed-privileged.yaml",
			Findings: []string{`Pod Security Standards (baseline): privileged (containers "init", "web" must not set securityContext.privileged=true)`}},
		{Name: "iptables and a device, named", Failure: "testdata/failure-iptables.yaml", Fixed: "testdata/fixed-iptables.yaml",
			Findings: []string{`privileged (containers "net-init", "agent" must not set securityContext.privileged=true)`}},
		{Name: "unprivileged passes", Failure: "testdata/pass.yaml"},
	})
}

// Dropping privilege is a warned choice: --fix=all and --fix=security
// leave it skipped with what to grant instead; naming the rule plans it.
func TestOptIn(t *testing.T) {
	const generic = "containers init, web run privileged today: without it, what needs privilege (host devices, kernel modules, " +
		"iptables, mounts) fails when first used, at runtime — the rollout watch only catches a failed start; grant the one " +
		"capability it needs instead (e.g. NET_ADMIN for iptables, SYS_MODULE for kernel modules, SYS_ADMIN for mounts); " +
		"name it to apply: --fix=privileged"
	const seen = "containers net-init, agent run privileged today: without it, what needs privilege (host devices, kernel modules, " +
		"iptables, mounts) fails when first used, at runtime — the rollout watch only catches a failed start; container net-init " +
		"uses iptables and network setup: grant capabilities.add [NET_ADMIN, NET_RAW]; container agent uses host device /dev/ttyUSB0: " +
		"grant the device through a device plugin (resources.limits), or a CDI device; name it to apply: --fix=privileged"
	for _, tc := range []struct {
		file   string
		fix    []string
		status rules.Status
		reason string
	}{
		{"testdata/failure-privileged.yaml", []string{"all"}, rules.StatusSkipped, generic},
		{"testdata/failure-privileged.yaml", []string{"security"}, rules.StatusSkipped, generic},
		{"testdata/failure-iptables.yaml", []string{"all"}, rules.StatusSkipped, seen},
		{"testdata/failure-privileged.yaml", []string{"all", id}, rules.StatusPlanned, ""},
		{"testdata/failure-iptables.yaml", []string{id}, rules.StatusPlanned, ""},
	} {
		r := rulestest.Result(t, rules.Selection{Fix: tc.fix}, id, tc.file)
		if r.Status != tc.status || r.Reason != tc.reason {
			t.Errorf("%s --fix=%s: %s (%q), want %s (%q)", tc.file, strings.Join(tc.fix, ","), r.Status, r.Reason, tc.status, tc.reason)
		}
		if tc.status == rules.StatusPlanned && !strings.Contains(strings.Join(r.Fix.Warnings, ""), "fails when first used, at runtime") {
			t.Errorf("%s: the fix does not warn: %q", tc.file, r.Fix.Warnings)
		}
	}
}

// The text report prints "MESSAGE — REASON": the message is the Pod
// Security Standards check, the opt-in reason says who runs privileged
// today; neither repeats the other.
func TestMessageAndOptInSayEachFactOnce(t *testing.T) {
	for _, file := range []string{"testdata/failure-privileged.yaml", "testdata/failure-iptables.yaml"} {
		s := rulestest.Load(t, file)
		fs := Rule{}.Check(s)
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want 1", file, len(fs))
		}
		f := fs[0]
		today, _, _ := strings.Cut(f.OptIn, ":")
		if !strings.HasSuffix(today, "privileged today") || strings.Contains(f.Message, "today") {
			t.Errorf("%s: message %q repeats or opt-in %q lacks who runs privileged today", file, f.Message, f.OptIn)
		}
		if strings.Contains(f.OptIn, "must not set") {
			t.Errorf("%s: opt-in %q repeats the Pod Security Standards check", file, f.OptIn)
		}
	}
}
