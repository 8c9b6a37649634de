package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// checksHTTP reports whether a probe checks the http port (8080), by name
// or number, and never the metrics port declared first.
func checksHTTP(p *corev1.Probe) bool {
	var port intstr.IntOrString
	switch {
	case p == nil:
		return false
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port
	case p.HTTPGet != nil:
		port = p.HTTPGet.Port
	default:
		return false
	}
	return port.String() == "http" || port.String() == "8080"
}

// A Deployment declaring metrics (9090) before http (8080), behind a
// Service targeting http, applied as published (kubectl apply -f): with
// --fix=probes --yes, the readiness and liveness probes the API server
// holds check http, with their own timeouts, and no startupProbe is added
// to a fast-starting app.
func TestProbesCheckTheServiceTargetPort(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/probes-ports.yaml")
	waitRollout(t, ns, "deploy/x")
	doc, r := hardenReport(t, "deploy/x", "-n", ns, "--fix=probes", "--yes")
	if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
		t.Fatalf("not applied: %s", r)
	}
	c := deployment(t, ns, "x").Spec.Template.Spec.Containers[0]
	if !checksHTTP(c.ReadinessProbe) || c.ReadinessProbe.TCPSocket == nil || c.ReadinessProbe.TimeoutSeconds != 2 || c.ReadinessProbe.PeriodSeconds != 5 {
		t.Errorf("readinessProbe %+v: want tcpSocket on http every 5 s, timeout 2 s", c.ReadinessProbe)
	}
	if !checksHTTP(c.LivenessProbe) || c.LivenessProbe.TimeoutSeconds != 5 || c.LivenessProbe.PeriodSeconds*c.LivenessProbe.FailureThreshold != 60 {
		t.Errorf("livenessProbe %+v: want http, timeout 5 s, 60 s tolerance", c.LivenessProbe)
	}
	if c.StartupProbe != nil {
		t.Errorf("startupProbe %+v on pods that start in seconds", c.StartupProbe)
	}
}

// The same ports behind a Service targeting 8080 by number, with a
// liveness probe tolerating 65 s of start-up and a 3 s timeout: the
// startupProbe allows at least those 65 s, copies the liveness check and
// its timeout, and the new readinessProbe checks http and waits 3 s too.
// The liveness probe itself, the manifest's, is left as it was.
func TestProbesKeepTheLivenessTolerance(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/probes-ports.yaml")
	waitRollout(t, ns, "deploy/tolerant")
	before := deployment(t, ns, "tolerant").Spec.Template.Spec.Containers[0].LivenessProbe
	doc, r := hardenReport(t, "deploy/tolerant", "-n", ns, "--fix=probes", "--yes")
	if !doc.Workloads[0].Applied || doc.Workloads[0].Rollout != "complete" {
		t.Fatalf("not applied: %s", r)
	}
	c := deployment(t, ns, "tolerant").Spec.Template.Spec.Containers[0]
	sp := c.StartupProbe
	switch {
	case sp == nil || sp.HTTPGet == nil || sp.HTTPGet.Path != "/healthz" || !checksHTTP(sp):
		t.Errorf("startupProbe %+v: want the liveness check, GET /healthz on 8080", sp)
	case sp.PeriodSeconds*sp.FailureThreshold < 65:
		t.Errorf("startupProbe allows %d × %d s, less than the 65 s the liveness probe tolerated", sp.FailureThreshold, sp.PeriodSeconds)
	case sp.TimeoutSeconds != 3:
		t.Errorf("startupProbe timeout %d s, want the liveness probe's 3 s", sp.TimeoutSeconds)
	}
	if !checksHTTP(c.ReadinessProbe) || c.ReadinessProbe.TimeoutSeconds != 3 {
		t.Errorf("readinessProbe %+v: want http with the liveness probe's 3 s timeout", c.ReadinessProbe)
	}
	if lp := c.LivenessProbe; lp.InitialDelaySeconds != before.InitialDelaySeconds || lp.TimeoutSeconds != before.TimeoutSeconds ||
		lp.PeriodSeconds != before.PeriodSeconds || lp.FailureThreshold != before.FailureThreshold {
		t.Errorf("livenessProbe changed: %+v, was %+v", lp, before)
	}
}

// The same ports and no Service: no port is guessed. The readiness and
// liveness findings need a human, who is asked which port; the spec is
// left alone, and --set picks the port.
func TestProbesAskWhichPortWithoutAService(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/probes-ports.yaml")
	waitRollout(t, ns, "deploy/unserved")
	spec := specJSON(t, ns, "deployment", "unserved")
	doc, r := hardenReport(t, "deploy/unserved", "-n", ns, "--fix=probes", "--yes")
	for _, rule := range []string{"readiness-probe", "liveness-probe"} {
		f := findings(doc, rule)
		if len(f) != 1 || f[0].Status != rules.StatusNeedsHuman ||
			!strings.Contains(f[0].Reason, "container app declares 2 TCP ports (metrics 9090, http 8080) and no Service targets one of them") ||
			!strings.Contains(f[0].Reason, "--set "+rule+".port=NAME") {
			t.Errorf("%s: %+v\n%s", rule, f, r)
		}
	}
	if specJSON(t, ns, "deployment", "unserved") != spec {
		t.Error("the spec changed although no port could be chosen")
	}
	harden(t, "deploy/unserved", "-n", ns, "--fix=readiness-probe", "--set", "readiness-probe.port=http", "--yes")
	if p := deployment(t, ns, "unserved").Spec.Template.Spec.Containers[0].ReadinessProbe; !checksHTTP(p) {
		t.Errorf("readinessProbe with --set readiness-probe.port=http: %+v", p)
	}
}
