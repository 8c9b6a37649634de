package livenessprobe

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	"github.com/kubectl-harden/kubectl-harden/plugins/startupprobe"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "missing", Failure: "testdata/failure-missing.yaml", Fixed: "testdata/fixed-missing.yaml",
			Findings: []string{"container web has no livenessProbe"}},
		{Name: "identical to readiness", Failure: "testdata/failure-identical.yaml",
			Findings: []string{"identical to readinessProbe"}, NeedsHuman: []string{"make the liveness probe check only"}},
		{Name: "tight thresholds relaxed", Failure: "testdata/failure-tight.yaml", Fixed: "testdata/fixed-tight.yaml",
			Findings: []string{"livenessProbe gives up after 2s (timeoutSeconds 1, failureThreshold 1)"}},
		{Name: "relaxing never lowers a threshold", Failure: "testdata/failure-tight-slow.yaml", Fixed: "testdata/fixed-tight-slow.yaml",
			Findings: []string{"livenessProbe gives up after 30s (timeoutSeconds 1, failureThreshold 1)"}},
		{Name: "the Service's targetPort, not the first declared port", Failure: "testdata/failure-target-named.yaml", Fixed: "testdata/fixed-target-named.yaml",
			Findings: []string{"container web has no livenessProbe"}},
		{Name: "several ports and no Service need a human", Failure: "testdata/failure-several-ports.yaml",
			Findings:   []string{"container web has no livenessProbe"},
			NeedsHuman: []string{"container web declares 2 TCP ports (metrics 9090, http 8080) and no Service targets one of them: say which one serves, with --set liveness-probe.port=NAME"}},
		{Name: "a slow start gets a startupProbe with the new liveness probe", Failure: "testdata/failure-slow-start.yaml", Fixed: "testdata/fixed-slow-start.yaml",
			Findings: []string{"container search has no livenessProbe"}},
		{Name: "given timings replace harden's defaults", Failure: "testdata/failure-target-named.yaml", Fixed: "testdata/fixed-timings.yaml",
			Findings: []string{"container web has no livenessProbe"}, Params: rules.Params{"period": "15", "timeout": "3", "failure-threshold": "4"}},
		{Name: "relaxing with given timings never lowers a live one", Failure: "testdata/failure-tight-slow.yaml", Fixed: "testdata/fixed-tight-slow-params.yaml",
			Findings: []string{"livenessProbe gives up after 30s"}, Params: rules.Params{"period": "10", "timeout": "4", "failure-threshold": "2"}},
		{Name: "a given tolerance above the slowest start needs no startupProbe", Failure: "testdata/failure-slow-start.yaml", Fixed: "testdata/fixed-slow-start-timings.yaml",
			Findings: []string{"container search has no livenessProbe"}, Params: rules.Params{"period": "20", "failure-threshold": "10"}},
		{Name: "tolerant passes", Failure: "testdata/pass.yaml"},
	})
}

// The description names the port and why, the tolerance, the timeout's
// source, and the start-up budget when a startupProbe comes with it.
func TestDescriptionSaysWhereNumbersComeFrom(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/failure-target-named.yaml": "add a livenessProbe to container web: tcpSocket on port http (targeted by Service web, port 80 → targetPort http), tolerance 60 s: failureThreshold 6 (harden's default; Kubernetes' is 3) × periodSeconds 10 (Kubernetes' default), timeoutSeconds 5 (harden's default; Kubernetes' is 1)",
		"testdata/failure-slow-start.yaml": "add a livenessProbe to container search: tcpSocket on port http (the only TCP port container search declares), tolerance 60 s: failureThreshold 6 (harden's default; Kubernetes' is 3) × periodSeconds 10 (Kubernetes' default), timeoutSeconds 8 (the readinessProbe's); " +
			"and a startupProbe with the same check, start-up budget 184 s (failureThreshold 23 × periodSeconds 8 s) ≥ 2 × slowest observed start 1m30s, ≥ minimum 30 s, so that",
		"testdata/failure-tight-slow.yaml": "relax the livenessProbe thresholds of container api: timeoutSeconds 1 → 5, failureThreshold 1 → 3 (harden's minimums: periodSeconds 10, timeoutSeconds 5, failureThreshold 3; unset fields read as Kubernetes' defaults 10, 1, 3)",
	} {
		s := rulestest.Load(t, file)
		f, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
		if err != nil || !strings.Contains(f.Description, want) {
			t.Errorf("%s: %v, description %q lacks %q", file, err, f.Description, want)
		}
	}
}

// Given timings are named as such. Relaxing uses a given value only when
// it raises the live one: a lower one is kept, with a warning.
func TestGivenTimings(t *testing.T) {
	cases := []struct {
		file     string
		params   rules.Params
		desc     string
		warnings string
	}{
		{"testdata/failure-target-named.yaml", rules.Params{"period": "15", "timeout": "3", "failure-threshold": "4"},
			"tolerance 60 s: failureThreshold 4 (--set/policy) × periodSeconds 15 (--set/policy), timeoutSeconds 3 (--set/policy)", ""},
		{"testdata/failure-slow-start.yaml", rules.Params{"failure-threshold": "8"},
			"tolerance 80 s: failureThreshold 8 (--set/policy) × periodSeconds 10 (Kubernetes' default), timeoutSeconds 8 (the readinessProbe's); " +
				"and a startupProbe with the same check, start-up budget 184 s (failureThreshold 23 × periodSeconds 8 s) ≥ 2 × slowest observed start 1m30s", ""},
		{"testdata/failure-tight-slow.yaml", rules.Params{"period": "10", "timeout": "4", "failure-threshold": "2"},
			"relax the livenessProbe thresholds of container api: timeoutSeconds 1 → 4 (--set/policy), failureThreshold 1 → 2 (--set/policy) (unset fields read as Kubernetes' defaults 10, 1, 3)",
			"container api: liveness-probe.period=10 (--set/policy) would lower the livenessProbe's periodSeconds 30: kept 30 (relaxing a probe only raises values)"},
		{"testdata/failure-tight.yaml", rules.Params{"timeout": "12"},
			"relax the livenessProbe thresholds of container api: timeoutSeconds 1 → 12 (--set/policy), failureThreshold 1 → 3, periodSeconds 2 → 12 (= timeoutSeconds: a check starts only after the previous one timed out) (harden's minimums: periodSeconds 10, failureThreshold 3;", ""},
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

// Bad values, and timings this rule would itself report as too tight, are
// the user's error, for a new probe and for a relaxed one.
func TestBadTimings(t *testing.T) {
	for _, tc := range []struct {
		file   string
		params rules.Params
		want   string
	}{
		{"testdata/failure-target-named.yaml", rules.Params{"period": "0"}, "liveness-probe.period=0: periodSeconds must be a whole number ≥ 1"},
		{"testdata/failure-target-named.yaml", rules.Params{"failure-threshold": "many"}, "liveness-probe.failure-threshold=many: failureThreshold must be a whole number ≥ 1"},
		{"testdata/failure-tight.yaml", rules.Params{"timeout": "-1"}, "liveness-probe.timeout=-1: timeoutSeconds must be a whole number ≥ 1"},
		{"testdata/failure-target-named.yaml", rules.Params{"period": "5", "failure-threshold": "2"},
			"liveness-probe: the given timings (--set/policy): a tolerance of 10 s (failureThreshold 2 × periodSeconds 5) is below the 15 s a liveness probe needs"},
		{"testdata/failure-target-named.yaml", rules.Params{"period": "20", "timeout": "1", "failure-threshold": "1"},
			"timeoutSeconds 1 with failureThreshold 1 kills a pod on one slow answer"},
		{"testdata/failure-tight.yaml", rules.Params{"period": "3", "failure-threshold": "2"},
			"relaxed to periodSeconds 5, timeoutSeconds 5, failureThreshold 2, the livenessProbe of container api is still too tight: a tolerance of 10 s"},
	} {
		_, err := rules.Evaluate(rulestest.Load(t, tc.file), rules.Selection{Fix: []string{id}, Params: map[string]rules.Params{id: tc.params}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: error %v, want %q", tc.file, tc.params, err, tc.want)
		}
	}
}

// startup-probe reads its budget from the liveness tolerance: a liveness
// probe written from given timings leaves it nothing to report, with the
// startupProbe written beside it (a tolerance below the slowest start) or
// without (a given tolerance above it).
func TestStartupProbeAgrees(t *testing.T) {
	for _, fixed := range []string{"testdata/fixed-slow-start.yaml", "testdata/fixed-slow-start-timings.yaml"} {
		s := rulestest.Load(t, "testdata/failure-slow-start.yaml", fixed)
		if f := (startupprobe.Rule{}).Check(s); len(f) != 0 {
			t.Errorf("%s: startup-probe finds %+v", fixed, f)
		}
	}
}
