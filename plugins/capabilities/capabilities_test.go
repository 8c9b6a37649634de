package capabilities

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/runasnonroot"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "default capabilities kept", Failure: "testdata/failure-default.yaml", Fixed: "testdata/fixed-default.yaml",
			Findings: []string{"containers web, proxy keep the default capabilities: drop ALL"}},
		{Name: "added capabilities need a human", Failure: "testdata/failure-added.yaml", Fixed: "testdata/fixed-added.yaml",
			Findings:   []string{"containers worker keep the default capabilities", "container worker adds NET_ADMIN, SYS_ADMIN"},
			NeedsHuman: []string{"remove the capabilities the app does not need"}},
		{Name: "port 80 keeps NET_BIND_SERVICE after the capabilities added", Failure: "testdata/failure-port80.yaml", Fixed: "testdata/fixed-port80.yaml",
			Findings:   []string{"containers web, exporter keep the default capabilities: drop ALL; web keeps NET_BIND_SERVICE (port 80 < 1024: a non-root process needs NET_BIND_SERVICE to bind it)", "container web adds CHOWN"},
			NeedsHuman: []string{"remove the capabilities the app does not need"}},
		{Name: "a Service's port 443", Failure: "testdata/failure-service-port.yaml", Fixed: "testdata/fixed-service-port.yaml",
			Findings: []string{"containers web keep the default capabilities: drop ALL; web keeps NET_BIND_SERVICE (port 443 < 1024"}},
		{Name: "root container needs a human", Failure: "testdata/failure-root.yaml",
			Findings: []string{"containers web keep the default capabilities: drop ALL; web keeps NET_BIND_SERVICE"},
			NeedsHuman: []string{"container web runs as root: its entrypoint may need SETUID/SETGID/CHOWN to switch user (nginx, redis and postgres images do); " +
				"drop ALL once it runs non-root (--fix=run-as-non-root), or drop ALL and add back what it needs"}},
		{Name: "runAsUser 0 and a reported UID 0 need a human", Failure: "testdata/failure-root-reported.yaml",
			Findings:   []string{"containers redis, sidecar keep the default capabilities: drop ALL"},
			NeedsHuman: []string{"containers redis, sidecar run as root: its entrypoint may need SETUID/SETGID/CHOWN"}},
		{Name: "a reported non-root UID drops ALL", Failure: "testdata/failure-live-nonroot.yaml", Fixed: "testdata/fixed-live-nonroot.yaml",
			Findings: []string{"containers web keep the default capabilities: drop ALL"}},
		{Name: "drop ALL passes", Failure: "testdata/pass.yaml"},
	})
}

// The fix says why a container keeps NET_BIND_SERVICE, and what a non-root
// image needs for it to work.
func TestBindServiceExplained(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-port80.yaml")
	fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "drop ALL capabilities in web, exporter; add NET_BIND_SERVICE to web: port 80 < 1024: a non-root process needs NET_BIND_SERVICE to bind it"
	if fix.Description != want {
		t.Errorf("description %q, want %q", fix.Description, want)
	}
	if len(fix.Warnings) != 1 {
		t.Fatalf("warnings %q, want one for web", fix.Warnings)
	}
	for _, part := range []string{"container web binds port 80", "setcap cap_net_bind_service=+ep", "nginxinc/nginx-unprivileged listens on 8080",
		"net.ipv4.ip_unprivileged_port_start=80"} {
		if !strings.Contains(fix.Warnings[0], part) {
			t.Errorf("warning %q lacks %q", fix.Warnings[0], part)
		}
	}
	// No port below 1024: drop ALL alone, nothing to warn about.
	s = rulestest.Load(t, "testdata/failure-default.yaml")
	if fix, err = (Rule{}).Fix(s, Rule{}.Check(s)[0], nil); err != nil || len(fix.Warnings) != 0 || strings.Contains(fix.Description, "NET_BIND_SERVICE") {
		t.Errorf("no low port: %v %+v", err, fix)
	}
}

// capabilities fixes after run-as-non-root, on the spec it projects: under
// --fix=all a container with no known user gets runAsNonRoot first and
// then drops ALL; a data store whose run-as-non-root is opt-in (skipped)
// stays root, and capabilities asks a human instead of breaking its
// entrypoint; naming run-as-non-root with the UID drops ALL too.
func TestAfterRunAsNonRoot(t *testing.T) {
	for _, tc := range []struct {
		file   string
		fix    []string
		params map[string]rules.Params
		status rules.Status
	}{
		{"testdata/plain-root.yaml", []string{"all"}, nil, rules.StatusPlanned},
		{"testdata/redis-root.yaml", []string{"all"}, nil, rules.StatusNeedsHuman},
		{"testdata/redis-root.yaml", []string{"all", "run-as-non-root"}, map[string]rules.Params{"run-as-non-root": {"uid": "999"}}, rules.StatusPlanned},
	} {
		r := rulestest.Result(t, rules.Selection{Fix: tc.fix, Params: tc.params}, id, tc.file)
		if r.Status != tc.status {
			t.Errorf("%s --fix=%s: %s (%s), want %s", tc.file, strings.Join(tc.fix, ","), r.Status, r.Reason, tc.status)
		}
		if r.Status == rules.StatusNeedsHuman && !strings.Contains(r.Reason, "container redis runs as root") {
			t.Errorf("%s: reason %q", tc.file, r.Reason)
		}
	}
}
