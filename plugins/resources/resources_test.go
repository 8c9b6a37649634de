package resources

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "no data: nothing guessed", Failure: "testdata/failure-no-data.yaml",
			Findings: []string{"container web has no requests.memory", "container web has no limits.memory"},
			NeedsHuman: []string{"no usage data (metrics.k8s.io not served) and no LimitRange default for container web's requests.memory: " +
				"set requests from observed usage, e.g. start at cpu 100m, memory 128Mi and watch kubectl top",
				"no usage data (metrics.k8s.io not served): harden guesses no memory limit"}},
		{Name: "user values", Failure: "testdata/failure-no-data.yaml", Fixed: "testdata/fixed-user.yaml",
			Findings: []string{"has no requests.memory", "has no limits.memory"}, Params: rules.Params{"memory": "192Mi", "memory-limit": "512Mi"}},
		{Name: "LimitRange with request defaults only", Failure: "testdata/failure-limitrange-requests.yaml", Fixed: "testdata/fixed-limitrange-requests.yaml",
			Findings:   []string{"has no requests.cpu, requests.memory", "has no limits.memory"},
			NeedsHuman: []string{"harden guesses no memory limit"}},
		{Name: "LimitRange defaults", Failure: "testdata/failure-limitrange.yaml", Fixed: "testdata/fixed-limitrange.yaml",
			Findings: []string{"container web has no requests.cpu, requests.memory", "container web has no limits.memory"}},
		{Name: "parameters", Failure: "testdata/failure-limitrange.yaml", Fixed: "testdata/fixed-params.yaml",
			Findings: []string{"has no requests.cpu", "has no limits.memory"}, Params: rules.Params{"cpu": "1", "memory": "1Gi", "memory-limit": "2Gi"}},
		{Name: "limits are the pods' requests", Failure: "testdata/failure-limits-only.yaml", Fixed: "testdata/fixed-limits-only.yaml",
			Findings: []string{"container web has no requests.cpu, requests.memory"}},
		{Name: "OOMKilled under its limit", Failure: "testdata/failure-oom.yaml", Fixed: "testdata/fixed-oom.yaml",
			Findings: []string{"container web was OOMKilled under its memory limit of 64Mi"}},
		{Name: "sized passes", Failure: "testdata/pass.yaml"},
	})
}

// evaluate fixes the resources findings of s and returns the results.
func evaluate(t *testing.T, s *inspect.Snapshot, p rules.Params) []rules.Result {
	t.Helper()
	results, err := rules.Evaluate(s, rules.Selection{Fix: []string{id}, Params: map[string]rules.Params{id: p}})
	if err != nil {
		t.Fatal(err)
	}
	var out []rules.Result
	for _, r := range results {
		if r.Rule == id {
			out = append(out, r)
		}
	}
	return out
}

// written is the container's resources a planned fix writes, as YAML.
func written(r rules.Result) string {
	if r.Fix == nil {
		return ""
	}
	return rulestest.YAML(r.Fix.Changes[0].Object)
}

// usageOf gives each pod web-N the sample (cpu millicores, memory bytes)
// of its container web.
func usageOf(samples ...[2]int64) map[string]map[string]inspect.ContainerUsage {
	u := map[string]map[string]inspect.ContainerUsage{}
	for i, s := range samples {
		u["web-"+string(rune('1'+i))] = map[string]inspect.ContainerUsage{"web": {CPUMilli: s[0], MemoryBytes: s[1]}}
	}
	return u
}

// Observed usage wins over the LimitRange: requests are the peak over the
// pods ×1.2, the memory limit max(2× peak, peak + 128Mi); each number
// names its source, and the warning says it rests on one sample.
func TestSizedFromUsage(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
	s.Usage = usageOf([2]int64{200, 100 << 20}, [2]int64{100, 300 << 20})
	res := evaluate(t, s, nil)
	if len(res) != 2 || res[0].Status != rules.StatusPlanned || res[1].Status != rules.StatusPlanned {
		t.Fatalf("results %+v", res)
	}
	req, lim := res[0], res[1]
	if req.Field != fieldRequests {
		req, lim = lim, req
	}
	for _, c := range []struct{ got, want string }{
		{written(req), "cpu: 240m"}, {written(req), "memory: 360Mi"}, {written(lim), "memory: 600Mi"},
		{req.Fix.Description, "requests.cpu 240m (observed: peak 200m over 2 pods ×1.2)"},
		{req.Fix.Description, "requests.memory 360Mi (observed: peak 300Mi over 2 pods ×1.2)"},
		{lim.Fix.Description, "limits.memory 600Mi (observed: peak 300Mi over 2 pods, max(2× peak, peak + 128Mi))"},
		{strings.Join(lim.Fix.Warnings, "\n"), "sized from one metrics.k8s.io sample of 2 pods (cpu 200m, memory 300Mi at most)"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("missing %q in\n%s", c.want, c.got)
		}
	}
	if strings.Contains(req.Fix.Description+lim.Fix.Description, "LimitRange") {
		t.Errorf("observed usage must win over the LimitRange: %s / %s", req.Fix.Description, lim.Fix.Description)
	}
}

// Whatever the peak, the written memory limit is at least twice it, at
// least it + 128Mi, and never below the request written beside it.
func TestLimitNeverNearThePeak(t *testing.T) {
	for _, peak := range []int64{1 << 20, 50 << 20, 100<<20 + 1, 1 << 30, 7 << 30} {
		s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
		s.LimitRanges = nil
		s.Usage = usageOf([2]int64{5, peak}, [2]int64{3, peak / 2})
		res := evaluate(t, s, nil)
		var limit, request resource.Quantity
		for _, r := range res {
			if r.Status != rules.StatusPlanned {
				t.Fatalf("peak %d: %+v", peak, r)
			}
			c := containerOf(t, r)
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				limit = q
			}
			if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
				request = q
			}
		}
		if limit.Value() < 2*peak || limit.Value() < peak+128<<20 || limit.Cmp(request) < 0 || request.Value()*5 < peak*6 {
			t.Errorf("peak %d: request %s, limit %s", peak, request.String(), limit.String())
		}
	}
}

// containerOf decodes the container the fix writes.
func containerOf(t *testing.T, r rules.Result) corev1.Container {
	t.Helper()
	spec := r.Fix.Changes[0].Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	raw := spec["containers"].([]any)[0].(map[string]any)["resources"].(map[string]any)
	var c corev1.Container
	for kind, list := range map[string]*corev1.ResourceList{"requests": &c.Resources.Requests, "limits": &c.Resources.Limits} {
		m, _ := raw[kind].(map[string]any)
		for k, v := range m {
			if *list == nil {
				*list = corev1.ResourceList{}
			}
			(*list)[corev1.ResourceName(k)] = resource.MustParse(v.(string))
		}
	}
	return c
}

// What would put the pods in danger or have them refused goes to a human.
func TestUnsafeSizesNeedAHuman(t *testing.T) {
	cases := []struct {
		name   string
		usage  map[string]map[string]inspect.ContainerUsage
		params rules.Params
		max    string // a Container max memory in the LimitRange
		want   string
	}{
		{name: "user limit below the observed peak", usage: usageOf([2]int64{10, 300 << 20}), params: rules.Params{"memory-limit": "256Mi"},
			want: "limits.memory 256Mi (user: --set resources.memory-limit) is below the observed peak 300Mi over 1 pod ×1.2: it would be OOMKilled; give at least 360Mi"},
		{name: "above the LimitRange max", usage: usageOf([2]int64{10, 300 << 20}), max: "512Mi",
			want: "limits.memory 600Mi (observed: peak 300Mi over 1 pod, max(2× peak, peak + 128Mi)) is above LimitRange defaults max 512Mi: its admission would refuse the pods"},
		{name: "user values, not every one", params: rules.Params{"memory": "256Mi"},
			want: "no usage data (metrics.k8s.io not served) and no LimitRange default for container web's requests.cpu"},
		{name: "a sample of 0 bytes is no sample", usage: usageOf([2]int64{0, 0}, [2]int64{0, 0}),
			want: "no usage data (metrics.k8s.io reports 0 bytes of memory for container web in 2 pods: no process runs in 0 bytes, the sample is missing): harden guesses no memory limit"},
		{name: "served, but the container not sampled", usage: map[string]map[string]inspect.ContainerUsage{"web-1": {"sidecar": {CPUMilli: 1}}},
			want: "no usage data (metrics.k8s.io has no sample of container web yet): harden guesses no memory limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
			if tc.max != "" {
				s.LimitRanges[0].Spec.Limits[0].Max = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(tc.max)}
			} else {
				s.LimitRanges = nil
			}
			s.Usage = tc.usage
			var reasons []string
			for _, r := range evaluate(t, s, tc.params) {
				if r.Field == fieldLimit {
					if r.Status != rules.StatusNeedsHuman || r.Fix != nil {
						t.Fatalf("limit planned: %+v %s", r, written(r))
					}
				}
				reasons = append(reasons, r.Reason)
			}
			if !strings.Contains(strings.Join(reasons, "\n"), tc.want) {
				t.Errorf("reasons\n%s\nlack %q", strings.Join(reasons, "\n"), tc.want)
			}
		})
	}
}

// The source of every number is in the description: user, limits,
// LimitRange by name.
func TestSources(t *testing.T) {
	cases := []struct {
		file   string
		params rules.Params
		want   []string
	}{
		{"testdata/failure-limitrange.yaml", nil, []string{"requests.cpu 200m (LimitRange defaults defaultRequest)",
			"requests.memory 300Mi (LimitRange defaults defaultRequest)", "set limits.memory 600Mi (LimitRange defaults default) of container web"}},
		{"testdata/failure-limitrange.yaml", rules.Params{"cpu": "250m"}, []string{"requests.cpu 250m (user: --set resources.cpu)",
			"requests.memory 300Mi (LimitRange defaults defaultRequest)"}},
		{"testdata/failure-limits-only.yaml", nil, []string{"requests.cpu 500m (= limits.cpu, what its pods already request)"}},
		{"testdata/failure-oom.yaml", nil, []string{"raise limits.memory of container web to 128Mi (2× the 64Mi it was OOMKilled under)"}},
	}
	for _, tc := range cases {
		var got []string
		for _, r := range evaluate(t, rulestest.Load(t, tc.file), tc.params) {
			if r.Fix != nil {
				got = append(got, r.Fix.Description)
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(strings.Join(got, "\n"), w) {
				t.Errorf("%s %v: %q not in\n%s", tc.file, tc.params, w, strings.Join(got, "\n"))
			}
		}
	}
}

// A value that is not a quantity is the user's error, not a finding.
func TestBadParameter(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-no-data.yaml")
	if _, err := rules.Evaluate(s, rules.Selection{Fix: []string{id}, Params: map[string]rules.Params{id: {"memory": "lots"}}}); err == nil ||
		!strings.Contains(err.Error(), "--set resources.memory=lots: not a positive quantity") {
		t.Errorf("error %v", err)
	}
}

// Pods that already run with a higher memory limit (a LimitRange's
// admission gave it) keep it: one sample never lowers it.
func TestNeverBelowTheLiveLimit(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
	var pod corev1.Pod
	pod.Name = "web-1"
	pod.Spec.Containers = []corev1.Container{{Name: "web", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("600Mi")}}}}
	s.Pods = append(s.Pods, pod)
	s.Usage = usageOf([2]int64{20, 50 << 20})
	limits := 0
	for _, r := range evaluate(t, s, nil) {
		if r.Field != fieldLimit {
			continue
		}
		limits++
		if r.Fix == nil || !strings.Contains(written(r), "memory: 600Mi") ||
			!strings.Contains(r.Fix.Description, "limits.memory 600Mi (= the limit its pods already run with; observed would give 178Mi)") {
			t.Errorf("%+v %s", r, written(r))
		}
	}
	if limits != 1 {
		t.Errorf("%d limit findings, want 1", limits)
	}
}

// A LimitRange's maxLimitRequestRatio bounds limit / request: sizes from
// one sample (request peak ×1.2, limit at least peak + 128Mi) may exceed
// it, and its admission would refuse every new pod. Such a size goes to a
// human, for the requests (the pods would get the LimitRange's default
// limit) and for the limit.
func TestLimitRequestRatio(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
	item := &s.LimitRanges[0].Spec.Limits[0]
	item.DefaultRequest = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceCPU: resource.MustParse("100m")}
	item.Default = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
	item.MaxLimitRequestRatio = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2")}
	s.Usage = usageOf([2]int64{20, 50 << 20})
	var reasons []string
	for _, r := range evaluate(t, s, nil) {
		if r.Status != rules.StatusNeedsHuman {
			t.Errorf("%s planned: %s\n%s", r.Field, r.Fix.Description, written(r))
		}
		reasons = append(reasons, r.Reason)
	}
	for _, want := range []string{
		"container web: requests.memory 60Mi (observed: peak 50Mi over 1 pod ×1.2) with limits.memory 256Mi (LimitRange defaults default) is a ratio above LimitRange defaults maxLimitRequestRatio 2: its admission would refuse the pods",
		"container web: limits.memory 178Mi (observed: peak 50Mi over 1 pod, max(2× peak, peak + 128Mi)) with requests.memory 60Mi is a ratio above LimitRange defaults maxLimitRequestRatio 2",
	} {
		if !strings.Contains(strings.Join(reasons, "\n"), want) {
			t.Errorf("reasons\n%s\nlack %q", strings.Join(reasons, "\n"), want)
		}
	}
}

// The headroom parameter replaces ×1.2 for the requests, and the
// description names it; the memory limit keeps max(2× peak, peak + 128Mi),
// raised to a request above it.
func TestHeadroom(t *testing.T) {
	cases := []struct {
		headroom string
		want     []string
	}{
		{"1.5", []string{"cpu: 300m", "memory: 450Mi", "memory: 600Mi",
			"requests.cpu 300m (observed: peak 200m over 2 pods ×1.5 (--set/policy headroom))",
			"requests.memory 450Mi (observed: peak 300Mi over 2 pods ×1.5 (--set/policy headroom))",
			"limits.memory 600Mi (observed: peak 300Mi over 2 pods, max(2× peak, peak + 128Mi))"}},
		{"1", []string{"cpu: 200m", "memory: 300Mi", "requests.cpu 200m (observed: peak 200m over 2 pods ×1 (--set/policy headroom))"}},
		{"3", []string{"requests.memory 900Mi (observed: peak 300Mi over 2 pods ×3 (--set/policy headroom))",
			"limits.memory 900Mi (observed: peak 300Mi over 2 pods, max(2× peak, peak + 128Mi), raised to requests.memory)"}},
	}
	for _, tc := range cases {
		s := rulestest.Load(t, "testdata/failure-limitrange.yaml")
		s.LimitRanges = nil
		s.Usage = usageOf([2]int64{200, 100 << 20}, [2]int64{100, 300 << 20})
		var got []string
		for _, r := range evaluate(t, s, rules.Params{"headroom": tc.headroom}) {
			if r.Status != rules.StatusPlanned {
				t.Fatalf("headroom %s: %+v", tc.headroom, r)
			}
			got = append(got, written(r), r.Fix.Description)
		}
		for _, w := range tc.want {
			if !strings.Contains(strings.Join(got, "\n"), w) {
				t.Errorf("headroom %s: %q not in\n%s", tc.headroom, w, strings.Join(got, "\n"))
			}
		}
	}
}

// A headroom that is not a decimal from 1.0 to 10 is the user's error.
func TestBadHeadroom(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-no-data.yaml")
	for _, v := range []string{"0.9", "10.5", "-2", "lots", "NaN", "Inf", "120%"} {
		if _, err := rules.Evaluate(s, rules.Selection{Fix: []string{id}, Params: map[string]rules.Params{id: {"headroom": v}}}); err == nil ||
			!strings.Contains(err.Error(), "--set resources.headroom="+v+": not a decimal from 1.0 to 10") {
			t.Errorf("headroom %s: error %v", v, err)
		}
	}
}
