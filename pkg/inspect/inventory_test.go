package inspect

import (
	"context"
	"slices"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// ListedResources names exactly what an audit of every namespace lists: the
// benchmark's floor (`kubectl get` of these) reads the same objects.
func TestListedResourcesMatchInventory(t *testing.T) {
	client := fake.NewClientset()
	r := &Reader{Client: client}
	ctx := context.Background()
	if _, err := r.Cluster(ctx); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true}
	if _, err := r.Inventory(ctx, Scope{Kinds: kinds}); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, a := range client.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && !slices.Contains(listed, l.GetResource().Resource) {
			listed = append(listed, l.GetResource().Resource)
		}
	}
	want := slices.Clone(ListedResources)
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("the audit lists %v, ListedResources says %v", listed, want)
	}
}
