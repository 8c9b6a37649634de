package inspect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// viewRefusals are the reads the built-in view ClusterRole does not grant,
// by verb and resource: what a read-only auditor is refused.
var viewRefusals = []struct{ verb, group, resource string }{
	{"list", "", "nodes"},
	{"list", "scheduling.k8s.io", "priorityclasses"},
	{"list", "rbac.authorization.k8s.io", "clusterrolebindings"},
	{"list", "rbac.authorization.k8s.io", "rolebindings"},
	{"list", "coordination.k8s.io", "leases"},
	{"list", "networking.k8s.io", "ingressclasses"},
	{"list", "admissionregistration.k8s.io", "validatingwebhookconfigurations"},
}

// asViewer makes the fake client refuse what view refuses (403), plus the
// extra reads given.
func asViewer(c *fake.Clientset, extra ...struct{ verb, group, resource string }) *fake.Clientset {
	for _, r := range append(slices.Clone(viewRefusals), extra...) {
		c.PrependReactor(r.verb, r.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: r.group, Resource: r.resource}, "",
				errors.New(`User "viewer" cannot `+r.verb+` resource "`+r.resource+`"`))
		})
	}
	return c
}

func resources(list []Unread) []string {
	var out []string
	for _, u := range list {
		out = append(out, u.Verb+" "+u.Resource+" "+u.Reason)
	}
	return out
}

// A view user is inspected, alone and in an audit: every refused read is
// named once, with the server's message, and nothing fails.
func TestViewerReadsWhatItMay(t *testing.T) {
	r := &Reader{Client: asViewer(fake.NewClientset(copyObjects()...))}
	cluster, err := r.Cluster(context.Background())
	if err != nil {
		t.Fatalf("a view user's cluster read failed: %v", err)
	}
	want := []string{"list clusterrolebindings forbidden", "list ingressclasses forbidden", "list nodes forbidden",
		"list priorityclasses forbidden", "list validatingwebhookconfigurations forbidden"}
	if got := resources(cluster.Unread); !slices.Equal(got, want) {
		t.Errorf("cluster unread %q, want %q", got, want)
	}
	if u, _ := FindUnread(cluster.Unread, ResNodes); !strings.Contains(u.Message, `User "viewer" cannot list resource "nodes"`) ||
		u.String() != "zones unknown: nodes cannot be listed (forbidden)" {
		t.Errorf("nodes: %+v %q", u, u.String())
	}

	one, err := snapshotOfIn(t, r, cluster)
	if err != nil {
		t.Fatalf("a view user's inspection failed: %v", err)
	}
	var audited []*Snapshot
	err = r.EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}}, func(inv *Inventory) error {
		audited = append(audited, inv.Snapshots(cluster)...)
		return nil
	})
	if err != nil || len(audited) != 1 {
		t.Fatalf("a view user's audit: %v, %d snapshots", err, len(audited))
	}
	nsWant := []string{"list leases forbidden", "list rolebindings forbidden"}
	for road, s := range map[string]*Snapshot{"alone": one, "audit": audited[0]} {
		if got := resources(s.Unread); !slices.Equal(got, nsWant) {
			t.Errorf("%s: namespace unread %q, want %q", road, got, nsWant)
		}
		if got := resources(s.AllUnread()); len(got) != len(want)+len(nsWant) {
			t.Errorf("%s: all unread %q", road, got)
		}
		if _, ok := s.Unknown(ResNodes); !ok {
			t.Errorf("%s: nodes not unknown", road)
		}
		if s.LeasesUnread() == "" || s.ClaimsUnread() != "" {
			t.Errorf("%s: leases %q claims %q", road, s.LeasesUnread(), s.ClaimsUnread())
		}
	}
}

// snapshotOfIn reads deployment shop/web alone with r.
func snapshotOfIn(t *testing.T, r *Reader, cluster *Cluster) (*Snapshot, error) {
	t.Helper()
	s, err := snapshotOf(t, r.Client.(*fake.Clientset))
	if err != nil {
		return nil, err
	}
	s.Cluster = cluster
	return s, nil
}

// The ServiceAccount (GET, alone) and the ServiceAccounts (LIST, audit)
// refused, and the namespace's own GET refused: the inspection goes on,
// the namespace known by its name only.
func TestServiceAccountAndNamespaceRefused(t *testing.T) {
	extra := []struct{ verb, group, resource string }{{"get", "", "serviceaccounts"}, {"list", "", "serviceaccounts"}, {"get", "", "namespaces"}}
	c := asViewer(fake.NewClientset(copyObjects()...), extra...)
	s, err := snapshotOf(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Namespace == nil || s.Namespace.Name != "shop" || s.Namespace.Labels != nil {
		t.Errorf("namespace %+v", s.Namespace)
	}
	for _, want := range []string{"get namespaces forbidden", "get serviceaccounts forbidden"} {
		if !slices.Contains(resources(s.Unread), want) {
			t.Errorf("unread %q lacks %q", resources(s.Unread), want)
		}
	}
	c = asViewer(fake.NewClientset(copyObjects()...), extra...)
	var invs []*Inventory
	err = (&Reader{Client: c}).EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}},
		func(inv *Inventory) error { invs = append(invs, inv); return nil })
	if err != nil || len(invs) != 1 {
		t.Fatalf("audit: %v, %d namespaces", err, len(invs))
	}
	got := resources(invs[0].Unread)
	for _, want := range []string{"get namespaces forbidden", "list serviceaccounts forbidden"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit unread %q lacks %q", got, want)
		}
	}
	if ns := invs[0].NamespaceSnapshot(); ns == nil || ns.Namespace.Name != "shop" || !slices.Equal(resources(ns.Unread), got) {
		t.Errorf("namespace snapshot %+v", ns)
	}
}

// Only a refusal is forgiven: any other failure of an optional read fails
// it, on both roads and for the cluster.
func TestUnreadOnlyForRefusals(t *testing.T) {
	broken := apierrors.NewInternalError(errors.New("etcd timeout"))
	for _, res := range []string{"nodes", "priorityclasses", "clusterrolebindings"} {
		c := fake.NewClientset()
		refuse(c, res, broken)
		if _, err := (&Reader{Client: c}).Cluster(context.Background()); err == nil || !strings.Contains(err.Error(), "listing "+res) {
			t.Errorf("%s: error %v", res, err)
		}
	}
	c := fake.NewClientset(copyObjects()...)
	refuse(c, "rolebindings", broken)
	if _, err := snapshotOf(t, c); err == nil || !strings.Contains(err.Error(), "listing rolebindings in shop") {
		t.Errorf("alone: error %v", err)
	}
	c = fake.NewClientset(copyObjects()...)
	refuse(c, "serviceaccounts", broken)
	err := (&Reader{Client: c}).EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}},
		func(*Inventory) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "listing serviceaccounts") {
		t.Errorf("audit: error %v", err)
	}
	// The workload's own pods stay required.
	c = asViewer(fake.NewClientset(copyObjects()...))
	c.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbidden("", "pods")
	})
	if _, err := snapshotOf(t, c); !apierrors.IsForbidden(err) {
		t.Errorf("pods refused: error %v, want forbidden", err)
	}
}

// A user whose rights are one namespace's: audit -A fails with one line
// naming the cluster-wide LIST it lacks and -n; audit -n NS is read.
func TestAuditAllNamespacesNeedsClusterRights(t *testing.T) {
	namespaceOnly := func() *fake.Clientset {
		c := fake.NewClientset(copyObjects()...)
		c.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetNamespace() == "" {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: a.GetResource().Resource}, "",
					errors.New(`User "ns-viewer" cannot list resource at the cluster scope`))
			}
			return false, nil, nil
		})
		return c
	}
	err := (&Reader{Client: namespaceOnly()}).EachNamespace(context.Background(), Scope{Kinds: map[string]bool{"Deployment": true}},
		func(*Inventory) error { return nil })
	var cw *ClusterWideError
	if !errors.As(err, &cw) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "-n NAMESPACE") ||
		!strings.Contains(err.Error(), "is forbidden (audit -A needs list ") || !apierrors.IsForbidden(err) {
		t.Errorf("audit -A: %v", err)
	}
	r := &Reader{Client: namespaceOnly()}
	cluster, err := r.Cluster(context.Background())
	if err != nil {
		t.Fatalf("cluster read: %v", err)
	}
	if _, ok := FindUnread(cluster.Unread, ResNamespaces); !ok {
		t.Errorf("cluster unread %q lacks namespaces", resources(cluster.Unread))
	}
	n := 0
	err = r.EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}},
		func(inv *Inventory) error { n += len(inv.Workloads); return nil })
	if err != nil || n != 1 {
		t.Errorf("audit -n shop: %v, %d workloads", err, n)
	}
	// A refused required LIST of one namespace stays the error it was.
	c := fake.NewClientset(copyObjects()...)
	refuse(c, "deployments", forbidden("apps", "deployments"))
	err = (&Reader{Client: c}).EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}},
		func(*Inventory) error { return nil })
	if errors.As(err, &cw) || !apierrors.IsForbidden(err) {
		t.Errorf("audit -n shop, deployments refused: %v", err)
	}
}

// MergeUnread keeps each resource and verb once, sorted.
func TestMergeUnread(t *testing.T) {
	a := []Unread{{Resource: "nodes", Verb: "list", Reason: ReasonForbidden}}
	b := []Unread{{Resource: "leases", Verb: "list", Reason: ReasonForbidden}, {Resource: "nodes", Verb: "list", Reason: ReasonForbidden}}
	got := resources(MergeUnread(a, b))
	if want := []string{"list leases forbidden", "list nodes forbidden"}; !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
	ns := Unread{Resource: ResNamespaces, Verb: "get", Reason: ReasonForbidden}
	if ns.String() != "the namespace's labels and annotations (Pod Security, skips) unknown: namespaces cannot be read (forbidden)" {
		t.Errorf("%q", ns.String())
	}
}
