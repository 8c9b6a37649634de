package rules

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// The pod spec's container lists, by their field names, as Container.List
// holds them.
const (
	InitContainers    = "initContainers"
	RegularContainers = "containers"
)

// Container is one container of the workload's pod template and the pod
// spec list that holds it. The pointer is into the snapshot's template: a
// rule reads it and never writes it (Check is pure; a fix is a Change).
type Container struct {
	List string // InitContainers or RegularContainers
	*corev1.Container
}

// Containers lists the containers of the workload's pod template that are
// in the given lists, list by list in the order given; with no list, the
// init containers then the regular ones (the order the kubelet starts
// them). Probes and resources rules pass RegularContainers alone; the
// securityContext rules check both.
func Containers(s *inspect.Snapshot, lists ...string) []Container {
	if len(lists) == 0 {
		lists = []string{InitContainers, RegularContainers}
	}
	spec := &s.Workload.PodTemplate().Spec
	var out []Container
	for _, list := range lists {
		cs := spec.Containers
		if list == InitContainers {
			cs = spec.InitContainers
		}
		for i := range cs {
			out = append(out, Container{List: list, Container: &cs[i]})
		}
	}
	return out
}

// ContainerNamed returns the container of the pod template with this name
// (a finding's Container) from the given lists (as Containers; the API
// server keeps names unique across both). The error is `no container
// "NAME"` when none has it.
func ContainerNamed(s *inspect.Snapshot, name string, lists ...string) (Container, error) {
	for _, c := range Containers(s, lists...) {
		if c.Name == name {
			return c, nil
		}
	}
	return Container{}, fmt.Errorf("no container %q", name)
}

// Change returns the pod-spec fields that set fields of this container in
// its list, keyed by name as server-side apply merges containers, e.g.
// {"initContainers": [{"name": "migrate", "securityContext": {…}}]}: put
// it at PodSpecPath in a WorkloadChange.
func (c Container) Change(fields map[string]any) map[string]any {
	item := map[string]any{"name": c.Name}
	for k, v := range fields {
		item[k] = v
	}
	return map[string]any{c.List: []any{item}}
}

// WorkloadChange is the change to the workload that sets fields of this
// container and nothing else.
func (c Container) WorkloadChange(s *inspect.Snapshot, fields map[string]any) Change {
	obj := WorkloadChange(s.Workload)
	Set(obj, c.Change(fields), PodSpecPath(s.Workload)...)
	return Change{Object: obj}
}

// ContainersChange is one change to the workload that sets, in each of the
// containers for which fields returns a non-nil map, those fields — the fix
// of the rules that change several containers at once (securityContext,
// readOnlyRootFilesystem) — and the names of those containers, in order.
// It returns false when fields returns nil for every container: nothing
// to change.
func ContainersChange(s *inspect.Snapshot, cs []Container, fields func(Container) map[string]any) (Change, []string, bool) {
	spec := map[string]any{}
	var names []string
	for _, c := range cs {
		f := fields(c)
		if f == nil {
			continue
		}
		list, _ := spec[c.List].([]any)
		spec[c.List] = append(list, c.Change(f)[c.List].([]any)...)
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return Change{}, nil, false
	}
	obj := WorkloadChange(s.Workload)
	Set(obj, spec, PodSpecPath(s.Workload)...)
	return Change{Object: obj}, names, true
}
