package networkpolicy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

// docs/rbac.md ("What a refused traffic read does to network-policy")
// says, for each traffic read the API server may refuse, whether the fix
// admits more than with the read, or plans only what it can see and
// warns. These cases hold it to that table.
func TestRefusedTrafficReadsAsDocumented(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fixture string
		// refuse makes the read refused, empty makes it answered with
		// nothing: a warn-only refusal plans what the empty read does.
		refuse, empty func(s *inspect.Snapshot)
		admitsMore    bool
		warning       string
	}{
		{name: "namespaces", fixture: "testdata/failure-ingress-known.yaml",
			refuse:     func(s *inspect.Snapshot) { s.Cluster.Traffic.Namespaces = nil },
			admitsMore: true, warning: "the cluster's namespaces could not be listed, so its backends are admitted from anywhere"},
		{name: "ingressclasses", fixture: "testdata/failure-ingress-known.yaml",
			refuse:     func(s *inspect.Snapshot) { s.Cluster.Traffic.IngressClasses = nil },
			admitsMore: true, warning: "IngressClasses could not be listed, so its backends are admitted from anywhere"},
		{name: "gateways", fixture: "testdata/failure-httproute.yaml",
			refuse:     func(s *inspect.Snapshot) { s.Cluster.Traffic.Gateways = nil },
			admitsMore: true, warning: "could not be read, so its backends are admitted from anywhere"},
		{name: "gatewayclasses", fixture: "testdata/failure-httproute.yaml",
			refuse:     func(s *inspect.Snapshot) { s.Cluster.Traffic.GatewayClasses = nil },
			admitsMore: true, warning: "is not known, so its backends are admitted from anywhere"},
		{name: "webhooks and APIServices", fixture: "testdata/failure-webhook.yaml",
			refuse:  func(s *inspect.Snapshot) { s.Cluster.Traffic.APIServerCalls = nil },
			empty:   func(s *inspect.Snapshot) { s.Cluster.Traffic.APIServerCalls = []inspect.APIServerCall{} },
			warning: "admission webhook configurations and APIServices could not be listed (forbidden): if the API server calls a Service of these pods"},
		{name: "ingresses", fixture: "testdata/failure-ingress-known.yaml",
			refuse:  func(s *inspect.Snapshot) { s.Routes, s.RoutesUnknown = nil, []string{"Ingress"} },
			empty:   func(s *inspect.Snapshot) { s.Routes = nil },
			warning: "Ingresses could not be listed (forbidden): clients coming through one are cut off"},
		{name: "servicemonitors and podmonitors", fixture: "testdata/failure-servicemonitor.yaml",
			refuse:  func(s *inspect.Snapshot) { s.Cluster.Traffic.Monitors = nil },
			empty:   func(s *inspect.Snapshot) { s.Cluster.Traffic.Monitors = []inspect.Monitor{} },
			warning: "ServiceMonitors and PodMonitors could not be listed (forbidden)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := ingressOf(t, rulestest.Load(t, tc.fixture))
			s := rulestest.Load(t, tc.fixture)
			tc.refuse(s)
			fix, err := Rule{}.Fix(s, rules.Finding{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(fix.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q lack %q", fix.Warnings, tc.warning)
			}
			refused := ingressOf(t, s)
			if tc.admitsMore {
				if !anywhere(refused) || anywhere(read) {
					t.Errorf("refused: %s\nread: %s\nwant a rule from anywhere only when refused", refused, read)
				}
				return
			}
			e := rulestest.Load(t, tc.fixture)
			tc.empty(e)
			if none := ingressOf(t, e); refused != none || refused == read {
				t.Errorf("refused: %s\nread as none: %s\nread: %s\nwant the policy of the read as none, which differs from the read", refused, none, read)
			}
		})
	}
}

// ingressOf is the spec.ingress of the NetworkPolicy the fix creates, as
// JSON.
func ingressOf(t *testing.T, s *inspect.Snapshot) string {
	t.Helper()
	fix, err := Rule{}.Fix(s, rules.Finding{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fix.Changes {
		if c.Object["kind"] == "NetworkPolicy" {
			spec, _ := c.Object["spec"].(map[string]any)
			b, err := json.Marshal(spec["ingress"])
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatal("the fix creates no NetworkPolicy")
	return ""
}

// anywhere reports whether an ingress rule (as JSON) admits from anywhere:
// ports and no from.
func anywhere(ingress string) bool {
	var rules []map[string]any
	if err := json.Unmarshal([]byte(ingress), &rules); err != nil {
		return false
	}
	for _, r := range rules {
		if _, ok := r["from"]; !ok && !reflect.DeepEqual(r, map[string]any{}) {
			return true
		}
	}
	return false
}
