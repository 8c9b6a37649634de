package objmerge

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct{ name, dst, src, want string }{
		{"containers merge by name, others kept",
			`{containers: [{name: a, image: x}, {name: b, image: y}]}`,
			`{containers: [{name: b, readinessProbe: {tcpSocket: {port: 80}}}]}`,
			`{containers: [{name: a, image: x}, {name: b, image: y, readinessProbe: {tcpSocket: {port: 80}}}]}`},
		{"new keyed item appended",
			`{topologySpreadConstraints: [{topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1}]}`,
			`{topologySpreadConstraints: [{topologyKey: host, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1}]}`,
			`{topologySpreadConstraints: [{topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1}, {topologyKey: host, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1}]}`},
		{"ports keyed with the protocol default",
			`{ports: [{containerPort: 80, name: http}]}`,
			`{ports: [{containerPort: 80, protocol: TCP, hostPort: 0}]}`,
			`{ports: [{containerPort: 80, name: http, protocol: TCP, hostPort: 0}]}`},
		{"atomic lists replaced",
			`{args: [a, b], capabilities: {drop: [NET_RAW]}}`,
			`{args: [c], capabilities: {drop: [ALL]}}`,
			`{args: [c], capabilities: {drop: [ALL]}}`},
		{"scalars replaced, maps merged",
			`{spec: {replicas: 1, strategy: {type: RollingUpdate}}}`,
			`{spec: {replicas: 2, strategy: {rollingUpdate: {maxUnavailable: 0}}}}`,
			`{spec: {replicas: 2, strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0}}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Merge(obj(t, tc.dst), obj(t, tc.src))
			if want := obj(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestContains(t *testing.T) {
	live := obj(t, `{spec: {replicas: 2, template: {spec: {containers: [{name: a, image: x}, {name: b}]}}}}`)
	if !Contains(live, obj(t, `{spec: {replicas: 2, template: {spec: {containers: [{name: a, image: x}]}}}}`)) {
		t.Error("a subset should be contained")
	}
	if Contains(live, obj(t, `{spec: {replicas: 3}}`)) {
		t.Error("a different value is not contained")
	}
	if Contains(live, obj(t, `{spec: {template: {spec: {containers: [{name: c}]}}}}`)) {
		t.Error("a new keyed item is not contained")
	}
	before := DeepCopy(live)
	_ = Contains(live, obj(t, `{spec: {replicas: 9}}`))
	if !reflect.DeepEqual(before, live) {
		t.Error("Contains must not modify its argument")
	}
}

func TestPick(t *testing.T) {
	live := obj(t, `{spec: {replicas: 1, template: {spec: {containers: [{name: a, image: x, ports: [{containerPort: 80}]}, {name: b, image: y}]}}}}`)
	shape := obj(t, `{metadata: {name: web}, spec: {replicas: 2, minReadySeconds: 10, template: {spec: {containers: [
		{name: a, readinessProbe: {tcpSocket: {port: 80}}, image: z}, {name: b, livenessProbe: {}}, {name: c, image: q}]}}}}`)
	want := obj(t, `{spec: {replicas: 1, template: {spec: {containers: [{name: a, image: x}]}}}}`)
	if got := Pick(live, shape); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestPrune(t *testing.T) {
	// A constraint harden added is removed whole; existing containers stay.
	live0 := obj(t, `{topologySpreadConstraints: [{topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1}]}`)
	Prune(live0, live0, PickWithKeys(obj(t, `{}`), live0))
	if len(live0) != 0 {
		t.Errorf("added constraint not pruned: %v", live0)
	}
	live := obj(t, `{spec: {minReadySeconds: 20, replicas: 2, template: {spec: {containers: [{name: a, image: x, readinessProbe: {tcpSocket: {}}}, {name: b}]}}}}`)
	set := obj(t, `{spec: {minReadySeconds: 10, replicas: 2, template: {spec: {containers: [{name: a, readinessProbe: {tcpSocket: {}}}, {name: b, livenessProbe: {}}]}}}}`)
	before := obj(t, `{spec: {replicas: 1, template: {spec: {containers: [{name: a, image: x}, {name: b}]}}}}`)
	Prune(live, set, PickWithKeys(before, set))
	want := obj(t, `{spec: {replicas: 2, template: {spec: {containers: [{name: a, image: x}, {name: b}]}}}}`)
	if !reflect.DeepEqual(live, want) {
		t.Errorf("got  %v\nwant %v", live, want)
	}
}

// Merge leaves dst as it was: a projection must not change the live object.
func TestMergeLeavesDst(t *testing.T) {
	dst := `{spec: {replicas: 1, template: {spec: {containers: [{name: a, image: x}, {name: b, securityContext: {runAsUser: 0}}]}}}, status: {ready: 1}}`
	for _, tc := range []struct{ src, want string }{
		{`{spec: {template: {spec: {containers: [{name: b, securityContext: {runAsNonRoot: true}}]}}}}`,
			`{spec: {replicas: 1, template: {spec: {containers: [{name: a, image: x}, {name: b, securityContext: {runAsUser: 0, runAsNonRoot: true}}]}}}, status: {ready: 1}}`},
		{`{spec: {template: {spec: {containers: [{name: c}], securityContext: {fsGroup: 2}}}}}`,
			`{spec: {replicas: 1, template: {spec: {containers: [{name: a, image: x}, {name: b, securityContext: {runAsUser: 0}}, {name: c}], securityContext: {fsGroup: 2}}}}, status: {ready: 1}}`},
		{`{spec: {replicas: 3, strategy: {rollingUpdate: {maxUnavailable: 0}}}, metadata: {labels: {a: b}}}`,
			`{spec: {replicas: 3, strategy: {rollingUpdate: {maxUnavailable: 0}}, template: {spec: {containers: [{name: a, image: x}, {name: b, securityContext: {runAsUser: 0}}]}}}, status: {ready: 1}, metadata: {labels: {a: b}}}`},
		{`{spec: {template: null}}`, `{spec: {replicas: 1, template: null}, status: {ready: 1}}`},
	} {
		d := obj(t, dst)
		got := Merge(d, obj(t, tc.src))
		if !reflect.DeepEqual(d, obj(t, dst)) {
			t.Errorf("Merge(_, %s) changed dst: %v", tc.src, d)
		}
		if want := obj(t, tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("Merge(_, %s) = %v, want %v", tc.src, got, want)
		}
	}
}
