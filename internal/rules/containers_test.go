package rules

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// withInit is a Deployment whose pod template has an init container
// "migrate" and regular containers "web" and "proxy".
func withInit(t *testing.T) *inspect.Snapshot {
	t.Helper()
	w, err := inspect.NewWorkload(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec": map[string]any{
					"initContainers": []any{map[string]any{"name": "migrate", "image": "web:1"}},
					"containers":     []any{map[string]any{"name": "web", "image": "web:1"}, map[string]any{"name": "proxy", "image": "envoy:1"}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &inspect.Snapshot{Workload: w}
}

func names(cs []Container) (out []string) {
	for _, c := range cs {
		out = append(out, c.List+"/"+c.Name)
	}
	return out
}

func TestContainersListsInitThenRegular(t *testing.T) {
	s := withInit(t)
	for _, tc := range []struct {
		lists []string
		want  string
	}{
		{nil, `["initContainers/migrate","containers/web","containers/proxy"]`},
		{[]string{RegularContainers}, `["containers/web","containers/proxy"]`},
		{[]string{InitContainers}, `["initContainers/migrate"]`},
	} {
		got, _ := json.Marshal(names(Containers(s, tc.lists...)))
		if string(got) != tc.want {
			t.Errorf("Containers(%v) = %s, want %s", tc.lists, got, tc.want)
		}
	}
	if c, err := ContainerNamed(s, "migrate"); err != nil || c.List != InitContainers {
		t.Errorf("ContainerNamed(migrate) = %+v, %v; want the init container", c, err)
	}
	if _, err := ContainerNamed(s, "migrate", RegularContainers); err == nil || err.Error() != `no container "migrate"` {
		t.Errorf("ContainerNamed(migrate, regular) error %v, want no container \"migrate\"", err)
	}
}

// A per-container change goes to the container's own list, keyed by
// name; ContainersChange leaves out the containers fields skips.
func TestContainerChangesGoToTheirList(t *testing.T) {
	s := withInit(t)
	migrate, _ := ContainerNamed(s, "migrate")
	got, _ := json.Marshal(migrate.WorkloadChange(s, map[string]any{"image": "web:2"}).Object)
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},` +
		`"spec":{"template":{"spec":{"initContainers":[{"image":"web:2","name":"migrate"}]}}}}`
	if string(got) != want {
		t.Errorf("WorkloadChange:\n got %s\nwant %s", got, want)
	}
	change, changed, ok := ContainersChange(s, Containers(s), func(c Container) map[string]any {
		if c.Name == "proxy" {
			return nil
		}
		return map[string]any{"securityContext": map[string]any{"privileged": false}}
	})
	got, _ = json.Marshal(change.Object["spec"])
	want = `{"template":{"spec":{"containers":[{"name":"web","securityContext":{"privileged":false}}],` +
		`"initContainers":[{"name":"migrate","securityContext":{"privileged":false}}]}}}`
	if !ok || string(got) != want || len(changed) != 2 || changed[0] != "migrate" || changed[1] != "web" {
		t.Errorf("ContainersChange: %v %v\n got %s\nwant %s", ok, changed, got, want)
	}
	if _, _, ok := ContainersChange(s, Containers(s), func(Container) map[string]any { return nil }); ok {
		t.Error("ContainersChange with nothing to change: want false")
	}
}
