package runasnonroot

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "unknown user, a container asking for root, a volume", Failure: "testdata/failure-unknown-user.yaml", Fixed: "testdata/fixed-unknown-user.yaml",
			Findings: []string{`runAsNonRoot != true (pod or containers "web", "helper" must set securityContext.runAsNonRoot=true); runAsUser=0 (container "helper" must not set runAsUser=0); container helper runs as root (UID 0) today: fixed only when named (--fix=run-as-non-root)`}},
		{Name: "keeps the UID the kubelet reports", Failure: "testdata/failure-live-uid.yaml", Fixed: "testdata/fixed-live-uid.yaml",
			Findings: []string{"the containers run as UID 101 today"}},
		{Name: "uid parameter", Failure: "testdata/failure-live-uid.yaml", Fixed: "testdata/fixed-uid-param.yaml",
			Findings: []string{"runAsNonRoot != true"}, Params: rules.Params{"uid": "2000"}},
		{Name: "explicit pod UID, GID and fsGroup kept", Failure: "testdata/failure-explicit-uid.yaml", Fixed: "testdata/fixed-explicit-uid.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "web" must set securityContext.runAsNonRoot=true)`}},
		{Name: "explicit container UIDs kept", Failure: "testdata/failure-container-uid.yaml", Fixed: "testdata/fixed-container-uid.yaml",
			Findings: []string{"runAsNonRoot != true"}},
		{Name: "containers running as different users keep theirs", Failure: "testdata/failure-live-mixed.yaml", Fixed: "testdata/fixed-live-mixed.yaml",
			Findings: []string{"runAsNonRoot != true"}},
		{Name: "root today, named", Failure: "testdata/failure-root-port80.yaml", Fixed: "testdata/fixed-root-port80.yaml",
			Findings: []string{"(pod or container \"web\" must set securityContext.runAsNonRoot=true); container web runs as root (UID 0) today: fixed only when named (--fix=run-as-non-root)"}},
		{Name: "non-root passes", Failure: "testdata/pass.yaml"},
	})
}

// What each fix says: where its UID comes from, and what may break.
func TestDescriptionsAndWarnings(t *testing.T) {
	for file, want := range map[string]struct {
		description string
		warnings    []string
	}{
		"testdata/failure-explicit-uid.yaml": {"run as non-root (runAsUser 1000 kept)", nil},
		"testdata/failure-live-uid.yaml":     {"run as non-root (UID 101, the user the containers run as today)", nil},
		"testdata/failure-live-mixed.yaml":   {"run as non-root (each container's UID as it runs today)", nil},
		"testdata/failure-unknown-user.yaml": {"run as non-root (UID 65532; UID 65532 instead of root in helper)",
			[]string{"container helper runs as root (UID 0) today: as another user the app may fail to start, or start and then fail to read or write files root owns",
				"the image's user is unknown (the kubelet reports none): UID 65532 is a guess"}},
		"testdata/failure-live-disagree.yaml": {"run as non-root (UID 65532)",
			[]string{"the pods report different users for container web (UID 0 in pod web-1, UID 1000 in pod web-2): as UID 65532 it may fail to start, or start and then fail to read or write files its user owned"}},
		"testdata/failure-port80-dropped.yaml": {"run as non-root (UID 65532)",
			[]string{"the image's user is unknown", "container web binds port 80 < 1024 and drops ALL capabilities without adding NET_BIND_SERVICE: " +
				"it binds the port today only if the pod's net.ipv4.ip_unprivileged_port_start lets every user do so, and as a non-root user it needs that too"}},
		"testdata/failure-root-container-pod-uid.yaml": {"run as non-root (runAsUser 1000 kept; UID 1000 instead of root in web)",
			[]string{"container web runs as root (UID 0) today: as another user the app may fail to start, or start and then fail to read or write files root owns (the rollout watch only catches a failed start); check the image runs as UID 1000, or give"}},
		"testdata/failure-root-port80.yaml": {"run as non-root (UID 65532)",
			[]string{"container web runs as root (UID 0) today", "container web binds port 80 < 1024: as a non-root user it needs NET_BIND_SERVICE"}},
	} {
		s := rulestest.Load(t, file)
		fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if fix.Description != want.description {
			t.Errorf("%s: description %q, want %q", file, fix.Description, want.description)
		}
		if len(fix.Warnings) != len(want.warnings) {
			t.Errorf("%s: warnings %q, want %d", file, fix.Warnings, len(want.warnings))
			continue
		}
		for i, w := range want.warnings {
			if !strings.Contains(fix.Warnings[i], w) {
				t.Errorf("%s: warning %q lacks %q", file, fix.Warnings[i], w)
			}
		}
	}
}

// A container running as root today is a warned choice: --fix=all and
// --fix=security leave it skipped with the reason; naming the rule (or its
// ID among others) plans it. Known non-root users are planned under all.
func TestRootIsOptIn(t *testing.T) {
	for _, tc := range []struct {
		file   string
		fix    []string
		status rules.Status
	}{
		{"testdata/failure-root-port80.yaml", []string{"all"}, rules.StatusSkipped},
		{"testdata/failure-root-port80.yaml", []string{"security"}, rules.StatusSkipped},
		{"testdata/failure-unknown-user.yaml", []string{"all"}, rules.StatusSkipped},
		{"testdata/failure-root-port80.yaml", []string{"all", id}, rules.StatusPlanned},
		{"testdata/failure-root-port80.yaml", []string{id}, rules.StatusPlanned},
		{"testdata/failure-live-disagree.yaml", []string{"all"}, rules.StatusSkipped},
		{"testdata/failure-live-disagree.yaml", []string{id}, rules.StatusPlanned},
		{"testdata/failure-explicit-uid.yaml", []string{"all"}, rules.StatusPlanned},
		{"testdata/failure-live-uid.yaml", []string{"all"}, rules.StatusPlanned},
	} {
		results, err := rules.Evaluate(rulestest.Load(t, tc.file), rules.Selection{Fix: tc.fix})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Rule != id {
				continue
			}
			if r.Status != tc.status {
				t.Errorf("%s --fix=%s: %s (%s), want %s", tc.file, strings.Join(tc.fix, ","), r.Status, r.Reason, tc.status)
			}
			if r.Status == rules.StatusSkipped && !strings.HasSuffix(r.Reason, "(the rollout watch only catches a failed start); name it to apply: --fix=run-as-non-root") {
				t.Errorf("%s: reason %q", tc.file, r.Reason)
			}
		}
	}
}

// On OpenShift the SCC picks the UID: only runAsNonRoot is set.
func TestOpenShift(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-root-port80.yaml")
	s.Cluster = &inspect.Cluster{OpenShift: true}
	fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil || strings.Contains(rulestest.YAML(fix.Changes[0].Object), "runAsUser") || strings.Contains(rulestest.YAML(fix.Changes[0].Object), "fsGroup") {
		t.Errorf("OpenShift must leave runAsUser to the SCC: %v\n%s", err, rulestest.YAML(fix.Changes[0].Object))
	}
}
