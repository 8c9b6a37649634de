package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// PrintSnapshot writes what was read of one workload, for people: a
// header line (workload, namespace, context), then one row a fact —
// replicas or pods, rollout hold, ready pods by zone, each pod, problems,
// the slowest start, containers and their probes, the companions around
// it, the priority class, metrics — and one row per read the API server
// refused. Cluster strings are escaped (termsafe).
func PrintSnapshot(out io.Writer, s *inspect.Snapshot) {
	q := termsafe.String
	w := s.Workload
	st := s.Stats()
	fmt.Fprintf(out, "%s in namespace %s (context %s)\n", q(w.Ref()), q(w.Namespace()), q(s.Cluster.Context))
	row := func(k, format string, a ...any) { fmt.Fprintf(out, "  %-16s "+format+"\n", append([]any{k}, a...)...) }
	if r := w.Replicas(); r >= 0 {
		row("replicas", "%d desired, %d ready, %d restarts", r, st.Ready, st.Restarts)
	} else {
		row("pods", "%d, %d ready, %d restarts", st.Total, st.Ready, st.Restarts)
	}
	switch w.RolloutHold() {
	case inspect.RolloutPaused:
		row("rollout", "paused (changes roll out on kubectl rollout resume %s -n %s)", q(w.Ref()), q(w.Namespace()))
	case inspect.RolloutOnDelete:
		row("rollout", "OnDelete (a pod takes a change only when it is deleted)")
	}
	zones := make([]string, 0, len(st.Zones))
	for z, n := range st.Zones {
		if z == "" {
			z = "(no zone)"
		}
		zones = append(zones, fmt.Sprintf("%s=%d", q(z), n))
	}
	sort.Strings(zones)
	// "(no zone)" is a node without the zone label; unread nodes leave
	// every zone unknown.
	if u, unknown := s.Unknown(inspect.ResNodes); unknown {
		row("ready by zone", "unknown: nodes cannot be listed (%s)", u.Reason)
	} else {
		row("ready by zone", "%s (cluster zones: %s)", orNone(strings.Join(zones, " ")), orNone(strings.Join(s.Cluster.Zones(), ", ")))
	}
	for _, p := range s.Pods {
		ready, _ := inspect.PodReady(&p)
		state := string(p.Status.Phase)
		if ready {
			state += ", ready"
		}
		node := p.Spec.NodeName
		if z := s.Cluster.ZoneOf(node); z != "" {
			node += " (" + z + ")"
		}
		row("pod", "%s  %s  on %s", q(p.Name), state, q(orNone(node)))
	}
	for reason, n := range st.Problems {
		row("problem", "%s ×%d", q(reason), n)
	}
	if st.SlowestStart > 0 {
		row("slowest start", "%s from start to ready", st.SlowestStart.Round(time.Second))
	}
	tpl := w.PodTemplate()
	for _, c := range tpl.Spec.Containers {
		row("container", "%s  image %s  probes: %s", q(c.Name), q(c.Image), probes(c.ReadinessProbe != nil, c.LivenessProbe != nil, c.StartupProbe != nil))
	}
	row("services", "%s", names(len(s.Services), func(i int) string { return s.Services[i].Name }))
	row("pdbs", "%s", names(len(s.PDBs), func(i int) string { return s.PDBs[i].Name }))
	row("hpas", "%s", names(len(s.HPAs), func(i int) string { return s.HPAs[i].Name }))
	row("networkpolicies", "%s", names(len(s.NetworkPolicies), func(i int) string { return s.NetworkPolicies[i].Name }))
	classes := fmt.Sprintf("cluster defines %d", len(s.Cluster.PriorityClasses))
	if _, unknown := s.Unknown(inspect.ResPriorityClasses); unknown {
		classes = "cluster's classes unknown"
	}
	row("priorityClass", "%s (%s)", orNone(q(tpl.Spec.PriorityClassName)), classes)
	_, metricsUnread := s.Unknown(inspect.ResPodMetrics)
	switch {
	case s.Usage != nil:
		row("metrics", "served (%d pods measured)", len(s.Usage))
	case metricsUnread:
		row("metrics", "served, not readable")
	default:
		row("metrics", "not served")
	}
	// One line per read the API server refused, with what it leaves
	// unknown: the findings that depend on it say so too.
	for _, u := range s.AllUnread() {
		row("unread", "%s", q(u.String()))
	}
}

// probes lists the probes a container has, or "none".
func probes(readiness, liveness, startup bool) string {
	var p []string
	for _, x := range []struct {
		on   bool
		name string
	}{{readiness, "readiness"}, {liveness, "liveness"}, {startup, "startup"}} {
		if x.on {
			p = append(p, x.name)
		}
	}
	return orNone(strings.Join(p, ","))
}

// names lists n escaped names, or "none".
func names(n int, name func(int) string) string {
	out := make([]string, n)
	for i := range out {
		out[i] = termsafe.String(name(i))
	}
	return orNone(strings.Join(out, ", "))
}

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
