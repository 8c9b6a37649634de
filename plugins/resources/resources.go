// Package resources checks CPU and memory requests and the memory limit,
// and sizes them only from evidence: the user's values, the container's own
// limits, observed usage (metrics.k8s.io) or the namespace's LimitRange.
// Without any, it guesses nothing: the finding goes to a human with a
// starting point.
package resources

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the resources rule.
type Rule struct{}

const id = "resources"

// Finding fields: the requests of a container, and its memory limit (both
// a missing limit and an OOM kill under one).
const (
	fieldRequests = "resources.requests"
	fieldLimit    = "resources.limits.memory"
)

// Sizing from observed usage. metrics.k8s.io serves one sample per pod (a
// working-set and CPU average over metrics-server's --metric-resolution,
// 15 s by default), not a peak over time, so:
//   - requests are the highest sample over the pods plus 20 % (the
//     Vertical Pod Autoscaler's recommender adds a 15 % safety margin,
//     --recommendation-margin-fraction; harden has one sample, not a
//     histogram, and takes a little more), at least minCPU / minMemory;
//   - the memory limit is twice the highest sample, and at least that
//     sample plus limitFloor: one sample says nothing of spikes, and a
//     limit too low OOM-kills a healthy app hours after the rollout.
const (
	headroomNum, headroomDen = 6, 5 // ×1.2, the headroom parameter's default
	maxHeadroom              = 10
	limitFactor              = 2
	limitFloor               = 128 << 20 // bytes above the peak, at least
	minCPU                   = 10        // millicores
	minMemory                = 32 << 20  // bytes
)

// suggestion is the starting point offered when nothing says better; it is
// never written.
const suggestion = "start at cpu 100m, memory 128Mi and watch kubectl top"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Requests and memory limit", Category: rules.Resources, Severity: rules.Medium,
		Kinds: pss.Kinds,
		Why: "Without requests the scheduler packs pods blindly and they are the first evicted under " +
			"pressure (BestEffort); without a memory limit one leak takes the node's memory from its " +
			"neighbours. A memory limit below what the app uses ends in OOMKilled restarts.",
		Remediation: "Set requests.cpu, requests.memory and limits.memory on every container, from evidence, " +
			"each number with its source: the values given with --set; the container's own limits (the API " +
			"server already makes them its pods' requests); observed usage when metrics.k8s.io is served " +
			"(requests: the highest sample over the pods ×1.2, or ×--set resources.headroom; memory limit: 2× that sample and at least " +
			"sample + 128Mi, within the LimitRange's min and max); else the namespace's LimitRange defaults " +
			"(defaultRequest, default), which its admission already gives the pods. Without any of these " +
			"harden guesses nothing: the finding needs a human, with a starting point. A CPU limit is left " +
			"out on purpose: it throttles without protecting anyone.",
		Fixable: true,
		Params: []rules.Param{{Name: "cpu", Description: "CPU request, e.g. 250m (source: user)"},
			{Name: "memory", Description: "memory request, e.g. 256Mi (source: user)"},
			{Name: "memory-limit", Description: "memory limit, e.g. 512Mi; refused below the observed peak ×1.2"},
			{Name: "headroom", Description: "multiplier of the observed peak usage for the requests, a decimal from 1.0 to 10, e.g. 1.5; default 1.2 (harden's default: the Vertical Pod Autoscaler's 15 % margin and a little more); the memory limit stays max(2 × peak, peak + 128Mi)"}},
		OptOuts: []rules.OptOut{{Annotation: "kube-score/ignore", Value: "container-resources"}, {Annotation: "polaris.fairwinds.com/cpuRequestsMissing-exempt"},
			{Annotation: "ignore-check.kube-linter.io/unset-memory-requirements"}},
	}
}

// missingRequests lists the requests a container lacks, e.g.
// ["requests.cpu"].
func missingRequests(c *corev1.Container) []string {
	var out []string
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			out = append(out, "requests."+string(r))
		}
	}
	return out
}

// oomKilled reports whether a pod whose container has this very memory
// limit was OOM-killed: kills under an older, lower limit are history.
func oomKilled(s *inspect.Snapshot, container string, limit resource.Quantity) bool {
	for _, p := range s.Pods {
		for _, c := range p.Spec.Containers {
			if c.Name != container || !c.Resources.Limits.Memory().Equal(limit) {
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == container && cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.Reason == "OOMKilled" {
					return true
				}
			}
		}
	}
	return false
}

// Check reports, per container, missing requests, a missing memory limit,
// and OOM kills under the memory limit.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	finding := func(sev rules.Severity, c, field, msg string) {
		out = append(out, rules.Finding{Severity: sev, Container: c, Field: field, Message: msg})
	}
	for _, c := range rules.Containers(s, rules.RegularContainers) {
		if m := missingRequests(c.Container); len(m) > 0 {
			finding(rules.Medium, c.Name, fieldRequests, fmt.Sprintf("container %s has no %s", c.Name, strings.Join(m, ", ")))
		}
		lim, ok := c.Resources.Limits[corev1.ResourceMemory]
		switch {
		case !ok:
			finding(rules.Medium, c.Name, fieldLimit, fmt.Sprintf("container %s has no limits.memory", c.Name))
		case oomKilled(s, c.Name, lim):
			finding(rules.High, c.Name, fieldLimit, fmt.Sprintf("container %s was OOMKilled under its memory limit of %s", c.Name, lim.String()))
		}
	}
	return out
}

// Fix writes what is missing from evidence, or raises an OOM-killed
// container's limit; without evidence it returns rules.NeedsHumanf with a
// suggestion. Bad parameters are errors.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, p rules.Params) (*rules.Fix, error) {
	c, err := rules.ContainerNamed(s, f.Container, rules.RegularContainers)
	if err != nil {
		return nil, err
	}
	user, err := userValues(p)
	if err != nil {
		return nil, err
	}
	h, err := headroomOf(p)
	if err != nil {
		return nil, err
	}
	ev := evidence{s: s, c: c, user: user, usage: observe(s, c.Name), headroom: h}
	switch {
	case f.Field == fieldRequests:
		return ev.fixRequests()
	case f.Field == fieldLimit && c.Resources.Limits.Memory().IsZero():
		return ev.fixLimit()
	case f.Field == fieldLimit:
		return ev.fixOOM()
	}
	return nil, fmt.Errorf("unknown finding field %q", f.Field)
}

// userValues parses the --set resources.* quantity parameters by name
// (cpu, memory, memory-limit); an unparsable quantity is an error.
func userValues(p rules.Params) (map[string]resource.Quantity, error) {
	out := map[string]resource.Quantity{}
	for k, v := range p {
		if k == "headroom" {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return nil, fmt.Errorf("--set resources.%s=%s: not a positive quantity (e.g. 250m, 256Mi)", k, v)
		}
		out[k] = q
	}
	return out, nil
}

// headroom is the multiplier of the observed peak for requests: num/den,
// and how the description names it, e.g. "×1.2" or "×1.5 (--set/policy
// headroom)".
type headroom struct {
	num, den int64
	label    string
}

// headroomOf is the headroom parameter, a decimal from 1.0 to maxHeadroom
// kept to the thousandth, else harden's ×1.2.
func headroomOf(p rules.Params) (headroom, error) {
	v, ok := p["headroom"]
	if !ok {
		return headroom{headroomNum, headroomDen, "×1.2"}, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 1 && f <= maxHeadroom) {
		return headroom{}, fmt.Errorf("--set resources.headroom=%s: not a decimal from 1.0 to %d, the multiplier of the observed peak for requests (e.g. 1.5)", v, maxHeadroom)
	}
	milli := int64(math.Round(f * 1000))
	return headroom{milli, 1000, "×" + strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64) + " (--set/policy headroom)"}, nil
}

// usage is what metrics.k8s.io shows of one container: its highest sample
// over the workload's pods.
type usage struct {
	served      bool   // metrics.k8s.io answered for the workload
	unread      string // why the user may not read it, e.g. "pods.metrics.k8s.io forbidden"; "" when it may
	pods        int    // pods with a sample of this container
	empty       int    // pods whose sample shows 0 bytes of memory: left out
	cpuMilli    int64  // highest CPU sample, millicores
	memoryBytes int64  // highest working-set sample, bytes
}

// observe reads the container's samples from the snapshot. A sample of 0
// bytes of memory is left out: no running process uses none, so the
// metrics pipeline had nothing to read (a container just started, a
// runtime whose cgroup statistics it cannot read), and sizing from it
// would write the smallest sizes for an app of any size.
func observe(s *inspect.Snapshot, container string) usage {
	u := usage{served: s.Usage != nil}
	if r, ok := s.Unknown(inspect.ResPodMetrics); ok {
		u.unread = r.Resource + " " + r.Reason
	}
	for _, pod := range s.Usage {
		if cu, ok := pod[container]; ok {
			if cu.MemoryBytes <= 0 {
				u.empty++
				continue
			}
			u.pods++
			u.cpuMilli, u.memoryBytes = max(u.cpuMilli, cu.CPUMilli), max(u.memoryBytes, cu.MemoryBytes)
		}
	}
	return u
}

// noData says why there is no usage: the API is not served, or no pod of
// the container was sampled.
func (u usage) noData(container string) string {
	if !u.served && u.unread != "" {
		return "no usage data (observed usage unknown: " + u.unread + ")"
	}
	if !u.served {
		return "no usage data (metrics.k8s.io not served)"
	}
	if u.empty > 0 {
		return fmt.Sprintf("no usage data (metrics.k8s.io reports 0 bytes of memory for container %s in %d pod%s: no process runs in 0 bytes, the sample is missing)",
			container, u.empty, plural(u.empty))
	}
	return fmt.Sprintf("no usage data (metrics.k8s.io has no sample of container %s yet)", container)
}

// peak describes the samples, e.g. "peak 300Mi over 2 pods".
func (u usage) peak(r corev1.ResourceName) string {
	q := quantity(r, u.at(r))
	return fmt.Sprintf("peak %s over %d pod%s", q.String(), u.pods, plural(u.pods))
}

// at is the highest sample of a resource: millicores or bytes.
func (u usage) at(r corev1.ResourceName) int64 {
	if r == corev1.ResourceCPU {
		return u.cpuMilli
	}
	return u.memoryBytes
}

// sized is one number harden writes and where it comes from.
type sized struct {
	q      resource.Quantity
	source string
}

// evidence is what one container's numbers can come from.
type evidence struct {
	s        *inspect.Snapshot
	c        rules.Container
	user     map[string]resource.Quantity
	usage    usage
	headroom headroom
}

// request sizes one missing request: the user's value, else the
// container's limit (what the API server already makes the pods request),
// else observed usage ×1.2 (or the headroom parameter), else the LimitRange's defaultRequest (or its
// default, which API defaulting copies into defaultRequest). ok is false
// when nothing says.
func (e evidence) request(r corev1.ResourceName) (sized, bool) {
	if q, ok := e.user[string(r)]; ok {
		return sized{q, "user: --set resources." + string(r)}, true
	}
	if q, ok := e.c.Resources.Limits[r]; ok {
		return sized{q, "= limits." + string(r) + ", what its pods already request"}, true
	}
	if e.usage.pods > 0 {
		floor := int64(minMemory)
		if r == corev1.ResourceCPU {
			floor = minCPU
		}
		v := max(ceilDiv(e.usage.at(r)*e.headroom.num, e.headroom.den), floor)
		return sized{quantity(r, v), "observed: " + e.usage.peak(r) + " " + e.headroom.label}, true
	}
	for _, lr := range e.s.LimitRanges {
		for _, item := range containerItems(lr) {
			if q, ok := item.DefaultRequest[r]; ok {
				return sized{q, "LimitRange " + lr.Name + " defaultRequest"}, true
			}
			if q, ok := item.Default[r]; ok {
				return sized{q, "LimitRange " + lr.Name + " default"}, true
			}
		}
	}
	return sized{}, false
}

// limit sizes the missing memory limit: the user's value, else 2× the
// observed peak and at least peak + 128Mi, else the LimitRange's default
// (what its admission already gives the pods). ok is false when nothing
// says.
func (e evidence) limit() (sized, bool) {
	if q, ok := e.user["memory-limit"]; ok {
		return sized{q, "user: --set resources.memory-limit"}, true
	}
	if e.usage.pods > 0 {
		peak := e.usage.memoryBytes
		v := roundMi(max(peak*limitFactor, peak+limitFloor))
		return sized{*resource.NewQuantity(v, resource.BinarySI), "observed: " + e.usage.peak(corev1.ResourceMemory) + ", max(2× peak, peak + 128Mi)"}, true
	}
	for _, lr := range e.s.LimitRanges {
		for _, item := range containerItems(lr) {
			if q, ok := item.Default[corev1.ResourceMemory]; ok {
				return sized{q, "LimitRange " + lr.Name + " default"}, true
			}
		}
	}
	return sized{}, false
}

// fixRequests writes every missing request, or none: a request without a
// source is never guessed.
func (e evidence) fixRequests() (*rules.Fix, error) {
	requests := map[string]any{}
	var parts, unknown []string
	for _, name := range missingRequests(e.c.Container) {
		r := corev1.ResourceName(strings.TrimPrefix(name, "requests."))
		v, ok := e.request(r)
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if why := e.outOfRange(r, v.q); why != "" {
			return nil, rules.NeedsHumanf("container %s: %s %s (%s) %s", e.c.Name, name, v.q.String(), v.source, why)
		}
		if lim, ok := e.c.Resources.Limits[r]; ok && v.q.Cmp(lim) > 0 {
			return nil, rules.NeedsHumanf("container %s: %s %s (%s) would exceed its limits.%s %s: raise the limit first", e.c.Name, name, v.q.String(), v.source, r, lim.String())
		}
		if lim, ok := e.podLimit(r); ok {
			if why := e.ratioRefused(r, v.q, lim.q); why != "" {
				return nil, rules.NeedsHumanf("container %s: %s %s (%s) with limits.%s %s (%s) %s", e.c.Name, name, v.q.String(), v.source, r, lim.q.String(), lim.source, why)
			}
		}
		requests[string(r)] = v.q.String()
		parts = append(parts, fmt.Sprintf("%s %s (%s)", name, v.q.String(), v.source))
	}
	if len(unknown) > 0 {
		return nil, rules.NeedsHumanf("%s and no LimitRange default for container %s's %s: set requests from observed usage, e.g. %s "+
			"(--set resources.cpu=100m --set resources.memory=128Mi); harden guesses no memory limit",
			e.usage.noData(e.c.Name), e.c.Name, strings.Join(unknown, ", "), suggestion)
	}
	res := map[string]any{"requests": requests}
	return &rules.Fix{Description: "set " + strings.Join(parts, ", ") + " of container " + e.c.Name,
		Changes: []rules.Change{e.c.WorkloadChange(e.s, map[string]any{"resources": res})}, Warnings: e.sampleWarning()}, nil
}

// fixLimit writes the missing memory limit from evidence; it is never
// below the observed peak ×1.2 nor the memory request.
func (e evidence) fixLimit() (*rules.Fix, error) {
	v, ok := e.limit()
	if !ok {
		return nil, rules.NeedsHumanf("%s: harden guesses no memory limit (one too low OOM-kills the app hours after the rollout); "+
			"once kubectl top shows container %s's peak under load, set limits.memory well above it, e.g. 2× the peak "+
			"(--set resources.memory-limit=…)", e.usage.noData(e.c.Name), e.c.Name)
	}
	if e.usage.pods > 0 {
		if low := ceilDiv(e.usage.memoryBytes*headroomNum, headroomDen); v.q.Value() < low {
			return nil, rules.NeedsHumanf("container %s: limits.memory %s (%s) is below the observed %s ×1.2: it would be OOMKilled; give at least %s",
				e.c.Name, v.q.String(), v.source, e.usage.peak(corev1.ResourceMemory), resource.NewQuantity(roundMi(low), resource.BinarySI).String())
		}
	}
	if live, ok := e.liveLimit(); ok && v.q.Cmp(live) < 0 && strings.HasPrefix(v.source, "observed") {
		// The pods already run with more (a LimitRange's admission gave
		// it): one sample is no reason to take memory away.
		v = sized{live, "= the limit its pods already run with; observed would give " + v.q.String()}
	}
	req, hasReq := e.c.Resources.Requests[corev1.ResourceMemory]
	if !hasReq {
		if r, ok := e.request(corev1.ResourceMemory); ok {
			req, hasReq = r.q, true
		}
	}
	if hasReq && v.q.Cmp(req) < 0 && strings.HasPrefix(v.source, "observed") {
		// Usage far below the request: the request bounds the limit.
		v = sized{req, v.source + ", raised to requests.memory"}
	}
	if hasReq && v.q.Cmp(req) < 0 {
		return nil, rules.NeedsHumanf("container %s: limits.memory %s (%s) is below its requests.memory %s: the API server refuses it",
			e.c.Name, v.q.String(), v.source, req.String())
	}
	if why := e.ratioRefused(corev1.ResourceMemory, req, v.q); hasReq && why != "" {
		return nil, rules.NeedsHumanf("container %s: limits.memory %s (%s) with requests.memory %s %s", e.c.Name, v.q.String(), v.source, req.String(), why)
	}
	if why := e.outOfRange(corev1.ResourceMemory, v.q); why != "" {
		return nil, rules.NeedsHumanf("container %s: limits.memory %s (%s) %s", e.c.Name, v.q.String(), v.source, why)
	}
	res := map[string]any{"limits": map[string]any{"memory": v.q.String()}}
	return &rules.Fix{Description: fmt.Sprintf("set limits.memory %s (%s) of container %s", v.q.String(), v.source, e.c.Name),
		Changes: []rules.Change{e.c.WorkloadChange(e.s, map[string]any{"resources": res})}, Warnings: e.sampleWarning()}, nil
}

// liveLimit is the highest memory limit the container's live pods run
// with (given by a LimitRange's admission when the template has none).
func (e evidence) liveLimit() (resource.Quantity, bool) {
	var top resource.Quantity
	found := false
	for _, p := range e.s.Pods {
		for _, c := range p.Spec.Containers {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && c.Name == e.c.Name && (!found || q.Cmp(top) > 0) {
				top, found = q, true
			}
		}
	}
	return top, found
}

// fixOOM doubles the limit a container was OOM-killed under (or sets the
// user's, if higher).
func (e evidence) fixOOM() (*rules.Fix, error) {
	lim := e.c.Resources.Limits[corev1.ResourceMemory]
	v := sized{*resource.NewQuantity(lim.Value()*2, resource.BinarySI), "2× the " + lim.String() + " it was OOMKilled under"}
	if q, ok := e.user["memory-limit"]; ok {
		if q.Cmp(lim) <= 0 {
			return nil, fmt.Errorf("--set resources.memory-limit=%s: container %s was OOMKilled under %s: give more", q.String(), e.c.Name, lim.String())
		}
		v = sized{q, "user: --set resources.memory-limit"}
	}
	if why := e.outOfRange(corev1.ResourceMemory, v.q); why != "" {
		return nil, rules.NeedsHumanf("container %s: limits.memory %s (%s) %s", e.c.Name, v.q.String(), v.source, why)
	}
	res := map[string]any{"limits": map[string]any{"memory": v.q.String()}}
	return &rules.Fix{Description: fmt.Sprintf("raise limits.memory of container %s to %s (%s)", e.c.Name, v.q.String(), v.source),
		Changes: []rules.Change{e.c.WorkloadChange(e.s, map[string]any{"resources": res})}}, nil
}

// sampleWarning says that observed sizes rest on one sample; nil when no
// observed number was used.
func (e evidence) sampleWarning() []string {
	if e.usage.pods == 0 {
		return nil
	}
	return []string{fmt.Sprintf("container %s: sized from one metrics.k8s.io sample of %d pod%s (cpu %dm, memory %s at most); "+
		"usage under load may be higher: compare with kubectl top at a busy hour and revise",
		e.c.Name, e.usage.pods, plural(e.usage.pods), e.usage.cpuMilli, resource.NewQuantity(e.usage.memoryBytes, resource.BinarySI).String())}
}

// outOfRange says why the LimitRanger admission would refuse the pods with
// this quantity (below a Container min or above a max), or "". The
// Deployment itself is admitted: its new pods would not be, and the
// rollout would stall.
func (e evidence) outOfRange(r corev1.ResourceName, q resource.Quantity) string {
	for _, lr := range e.s.LimitRanges {
		for _, item := range containerItems(lr) {
			if mx, ok := item.Max[r]; ok && q.Cmp(mx) > 0 {
				return fmt.Sprintf("is above LimitRange %s max %s: its admission would refuse the pods", lr.Name, mx.String())
			}
			if mn, ok := item.Min[r]; ok && q.Cmp(mn) < 0 {
				return fmt.Sprintf("is below LimitRange %s min %s: its admission would refuse the pods", lr.Name, mn.String())
			}
		}
	}
	return ""
}

// podLimit is the limit the container's pods get for a resource: its own,
// else the LimitRange's default that its admission gives them.
func (e evidence) podLimit(r corev1.ResourceName) (sized, bool) {
	if q, ok := e.c.Resources.Limits[r]; ok {
		return sized{q, "its own"}, true
	}
	for _, lr := range e.s.LimitRanges {
		for _, item := range containerItems(lr) {
			if q, ok := item.Default[r]; ok {
				return sized{q, "LimitRange " + lr.Name + " default"}, true
			}
		}
	}
	return sized{}, false
}

// ratioRefused says why the LimitRanger admission would refuse the pods
// with this request and limit of a resource — limit / request above a
// Container maxLimitRequestRatio — or "".
func (e evidence) ratioRefused(r corev1.ResourceName, request, limit resource.Quantity) string {
	if request.Sign() <= 0 {
		return ""
	}
	for _, lr := range e.s.LimitRanges {
		for _, item := range containerItems(lr) {
			ratio, ok := item.MaxLimitRequestRatio[r]
			// As the LimitRanger compares them: a float64 ratio.
			if ok && limit.AsApproximateFloat64()/request.AsApproximateFloat64() > ratio.AsApproximateFloat64() {
				return fmt.Sprintf("is a ratio above LimitRange %s maxLimitRequestRatio %s: its admission would refuse the pods", lr.Name, ratio.String())
			}
		}
	}
	return ""
}

// containerItems are a LimitRange's items for containers, in order.
func containerItems(lr corev1.LimitRange) []corev1.LimitRangeItem {
	var out []corev1.LimitRangeItem
	for _, item := range lr.Spec.Limits {
		if item.Type == corev1.LimitTypeContainer {
			out = append(out, item)
		}
	}
	return out
}

// quantity is v millicores of CPU or v bytes of memory, memory rounded
// up to a whole Mi.
func quantity(r corev1.ResourceName, v int64) resource.Quantity {
	if r == corev1.ResourceCPU {
		return *resource.NewMilliQuantity(v, resource.DecimalSI)
	}
	return *resource.NewQuantity(roundMi(v), resource.BinarySI)
}

// roundMi rounds bytes up to a whole mebibyte.
func roundMi(bytes int64) int64 { return (bytes + (1 << 20) - 1) >> 20 << 20 }

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
