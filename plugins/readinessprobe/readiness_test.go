package readinessprobe

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/livenessprobe"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "served: tcpSocket on the named port", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-served.yaml",
			Findings: []string{"container web has no readinessProbe: Service web sends it traffic"}},
		{Name: "httpGet only with a given path", Failure: "testdata/failure-served.yaml", Fixed: "testdata/fixed-path.yaml",
			Findings: []string{"no readinessProbe"}, Params: rules.Params{"path": "/ready", "port": "8080"}},
		{Name: "liveness without readiness; a client without ports or Service has no traffic to gate", Failure: "testdata/failure-liveness-only.yaml", Fixed: "testdata/fixed-liveness-only.yaml",
			Findings: []string{"has a livenessProbe but no readinessProbe"}},
		{Name: "served sidecar without ports needs a human", Failure: "testdata/failure-sidecar.yaml",
			Findings:   []string{"container web has no readinessProbe", "container log-shipper has no readinessProbe"},
			NeedsHuman: []string{"container log-shipper declares no TCP port"}, Fixed: "testdata/fixed-sidecar.yaml"},
		{Name: "the Service's named targetPort, not the first declared port", Failure: "testdata/failure-target-named.yaml", Fixed: "testdata/fixed-target-named.yaml",
			Findings: []string{"container web has no readinessProbe: Service web sends it traffic"}},
		{Name: "the Service's numeric targetPort, past a sidecar's and a UDP port", Failure: "testdata/failure-target-numeric.yaml", Fixed: "testdata/fixed-target-numeric.yaml",
			Findings: []string{"container web has no readinessProbe"}},
		{Name: "several ports and no Service need a human", Failure: "testdata/failure-several-ports.yaml",
			Findings:   []string{"container web has no readinessProbe"},
			NeedsHuman: []string{"container web declares 2 TCP ports (metrics 9090, http 8080) and no Service targets one of them: say which one serves, with --set readiness-probe.port=NAME"}},
		{Name: "several ports and no Service: the port parameter", Failure: "testdata/failure-several-ports.yaml", Fixed: "testdata/fixed-several-ports.yaml",
			Findings: []string{"container web has no readinessProbe"}, Params: rules.Params{"port": "http"}},
		{Name: "the timeout is at least the liveness probe's", Failure: "testdata/failure-timeout.yaml", Fixed: "testdata/fixed-timeout.yaml",
			Findings: []string{"container db has a livenessProbe but no readinessProbe"}},
		{Name: "given timings replace harden's defaults", Failure: "testdata/failure-target-named.yaml", Fixed: "testdata/fixed-timings.yaml",
			Findings: []string{"container web has no readinessProbe"}, Params: rules.Params{"period": "7", "timeout": "3", "failure-threshold": "4"}},
		{Name: "probed passes", Failure: "testdata/pass.yaml"},
	})
}

func TestSeverityFollowsServices(t *testing.T) {
	if f := (Rule{}).Check(rulestest.Load(t, "testdata/failure-served.yaml")); f[0].Severity != rules.High {
		t.Errorf("served pods: severity %v, want high", f[0].Severity)
	}
	if f := (Rule{}).Check(rulestest.Load(t, "testdata/failure-liveness-only.yaml")); f[0].Severity != rules.Medium {
		t.Errorf("unserved pods: severity %v, want medium", f[0].Severity)
	}
}

// The description names the port, why that port, and the timeout's source.
func TestDescriptionSaysWhereNumbersComeFrom(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/failure-target-named.yaml":   "add a readinessProbe to container web: tcpSocket on port http (targeted by Service web, port 80 → targetPort http), periodSeconds 5 (harden's default; Kubernetes' is 10), failureThreshold 3 (Kubernetes' default): out of rotation after 15 s of failed checks, timeoutSeconds 2 (harden's default; Kubernetes' is 1)",
		"testdata/failure-target-numeric.yaml": "tcpSocket on port 8080 (targeted by Service web, port 80 → targetPort 8080)",
		"testdata/failure-liveness-only.yaml":  "tcpSocket on port 8080 (the only TCP port container api declares)",
		"testdata/failure-timeout.yaml":        "tcpSocket on port cql (targeted by Service db, port 9042 → targetPort 9042), periodSeconds 5 (harden's default; Kubernetes' is 10), failureThreshold 3 (Kubernetes' default): out of rotation after 15 s of failed checks, timeoutSeconds 5 (the livenessProbe's)",
	} {
		s := rulestest.Load(t, file)
		f, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
		if err != nil || !strings.Contains(f.Description, want) {
			t.Errorf("%s: %v, description %q lacks %q", file, err, f.Description, want)
		}
	}
}

// With --fix=probes on a container without probes, the readiness probe
// keeps its own 2 s timeout: the livenessProbe added in the same run (5 s)
// is no live probe to follow.
func TestTimeoutFollowsLiveProbesOnly(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-target-named.yaml")
	results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"probes"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range results {
		if r.Fix != nil {
			got[r.Rule] = r.Fix.Description
		}
	}
	for rule, want := range map[string]string{"readiness-probe": "timeoutSeconds 2 (harden's default; Kubernetes' is 1)", "liveness-probe": "timeoutSeconds 5 (harden's default; Kubernetes' is 1)"} {
		if !strings.Contains(got[rule], want) {
			t.Errorf("%s: %q lacks %q", rule, got[rule], want)
		}
	}
}

// Given timings are named as such; a timeout below a live probe's is
// written with a warning; a period below the timeout is raised (a derived
// timeout) or refused (a given one).
func TestGivenTimings(t *testing.T) {
	cases := []struct {
		file     string
		params   rules.Params
		desc     string
		warnings string
	}{
		{"testdata/failure-target-named.yaml", rules.Params{"period": "7", "timeout": "3", "failure-threshold": "4"},
			"periodSeconds 7 (--set/policy), failureThreshold 4 (--set/policy): out of rotation after 28 s of failed checks, timeoutSeconds 3 (--set/policy)", ""},
		{"testdata/failure-target-named.yaml", rules.Params{"failure-threshold": "1"},
			"periodSeconds 5 (harden's default; Kubernetes' is 10), failureThreshold 1 (--set/policy): out of rotation after 5 s of failed checks, timeoutSeconds 2 (harden's default; Kubernetes' is 1)", ""},
		{"testdata/failure-timeout.yaml", rules.Params{"timeout": "2"},
			"periodSeconds 5 (harden's default; Kubernetes' is 10), failureThreshold 3 (Kubernetes' default): out of rotation after 15 s of failed checks, timeoutSeconds 2 (--set/policy)",
			"container db: the new readinessProbe's timeoutSeconds 2 (--set/policy) is below the livenessProbe's timeoutSeconds 5: the app is known to need that long to answer"},
		{"testdata/failure-timeout.yaml", rules.Params{"period": "3"},
			"periodSeconds 5 (= timeoutSeconds, raised from 3 (--set/policy): a check starts only after the previous one timed out)",
			"container db: the new readinessProbe's periodSeconds 3 (--set/policy) is below its timeoutSeconds 5 (the livenessProbe's): written as 5"},
	}
	for _, tc := range cases {
		s := rulestest.Load(t, tc.file)
		f, err := Rule{}.Fix(s, Rule{}.Check(s)[0], tc.params)
		if err != nil {
			t.Errorf("%s %v: %v", tc.file, tc.params, err)
			continue
		}
		if !strings.Contains(f.Description, tc.desc) {
			t.Errorf("%s %v: description %q lacks %q", tc.file, tc.params, f.Description, tc.desc)
		}
		if w := strings.Join(f.Warnings, "\n"); tc.warnings == "" && w != "" || !strings.Contains(w, tc.warnings) {
			t.Errorf("%s %v: warnings %q, want %q", tc.file, tc.params, w, tc.warnings)
		}
	}
}

// A timing that is not a whole number ≥ 1, or a given period below a given
// timeout, is the user's error.
func TestBadTimings(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-target-named.yaml")
	for _, tc := range []struct {
		params rules.Params
		want   string
	}{
		{rules.Params{"period": "0"}, "readiness-probe.period=0: periodSeconds must be a whole number ≥ 1"},
		{rules.Params{"timeout": "-3"}, "readiness-probe.timeout=-3: timeoutSeconds must be a whole number ≥ 1"},
		{rules.Params{"failure-threshold": "1.5"}, "readiness-probe.failure-threshold=1.5: failureThreshold must be a whole number ≥ 1"},
		{rules.Params{"period": "ten"}, "readiness-probe.period=ten"},
		{rules.Params{"period": "99999999999"}, "readiness-probe.period=99999999999"},
		{rules.Params{"period": "2", "timeout": "3"}, "period 2 is below timeout 3: a check starts only after the previous one timed out"},
	} {
		_, err := rules.Evaluate(s, rules.Selection{Fix: []string{id}, Params: map[string]rules.Params{id: tc.params}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.params, err, tc.want)
		}
	}
}
