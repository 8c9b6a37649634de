package inspect

import (
	"context"
	"errors"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// refuse makes the fake client answer LISTs of a resource with err.
func refuse(client *fake.Clientset, resource string, err error) {
	client.PrependReactor("list", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, err
	})
}

func forbidden(group, resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Group: group, Resource: resource}, "", errors.New("RBAC: not allowed"))
}

func copyObjects() []runtime.Object {
	d := deployment("shop", "web")
	return []runtime.Object{&d, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-leader"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "data"}}}
}

// snapshotOf reads deployment shop/web alone, as kubectl harden deploy/web.
func snapshotOf(t *testing.T, client *fake.Clientset) (*Snapshot, error) {
	t.Helper()
	d := deployment("shop", "web")
	d.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&d)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorkload(&unstructured.Unstructured{Object: m})
	if err != nil {
		t.Fatal(err)
	}
	r := &Reader{Client: client}
	return r.Snapshot(context.Background(), &Cluster{}, w)
}

// auditSnapshots reads namespace shop as an audit does.
func auditSnapshots(t *testing.T, client *fake.Clientset) ([]*Snapshot, error) {
	t.Helper()
	var snaps []*Snapshot
	r := &Reader{Client: client}
	err := r.EachNamespace(context.Background(), Scope{Namespace: "shop", Kinds: map[string]bool{"Deployment": true}},
		func(inv *Inventory) error {
			snaps = append(snaps, inv.Snapshots(&Cluster{})...)
			return nil
		})
	return snaps, err
}

// Both roads (one workload, an audit) give a Snapshot its namespace's
// Leases and PersistentVolumeClaims.
func TestSnapshotsHoldLeasesAndClaims(t *testing.T) {
	one, err := snapshotOf(t, fake.NewClientset(copyObjects()...))
	if err != nil {
		t.Fatal(err)
	}
	audit, err := auditSnapshots(t, fake.NewClientset(copyObjects()...))
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 {
		t.Fatalf("%d snapshots in the audit, want 1", len(audit))
	}
	for road, s := range map[string]*Snapshot{"alone": one, "audit": audit[0]} {
		if len(s.Leases) != 1 || s.Leases[0].Name != "web-leader" || len(s.PersistentVolumeClaims) != 1 ||
			s.PersistentVolumeClaims[0].Name != "data" || s.LeasesUnread() != "" || s.ClaimsUnread() != "" {
			t.Errorf("%s: leases %v (%q), claims %v (%q)", road, s.Leases, s.LeasesUnread(), s.PersistentVolumeClaims, s.ClaimsUnread())
		}
	}
}

// A user who may not list Leases or PersistentVolumeClaims (403) is still
// inspected: the lists are empty and say why, on both roads.
func TestLeasesAndClaimsForbidden(t *testing.T) {
	client := func() *fake.Clientset {
		c := fake.NewClientset(copyObjects()...)
		refuse(c, "leases", forbidden("coordination.k8s.io", "leases"))
		refuse(c, "persistentvolumeclaims", forbidden("", "persistentvolumeclaims"))
		return c
	}
	one, err := snapshotOf(t, client())
	if err != nil {
		t.Fatalf("a 403 on leases or claims failed the inspection: %v", err)
	}
	audit, err := auditSnapshots(t, client())
	if err != nil {
		t.Fatalf("a 403 on leases or claims failed the audit: %v", err)
	}
	if len(audit) != 1 {
		t.Fatalf("%d snapshots in the audit, want 1", len(audit))
	}
	for road, s := range map[string]*Snapshot{"alone": one, "audit": audit[0]} {
		if s.Leases != nil || !strings.Contains(s.LeasesUnread(), "leases.coordination.k8s.io") || !strings.Contains(s.LeasesUnread(), "forbidden") {
			t.Errorf("%s: leases %v, unread %q", road, s.Leases, s.LeasesUnread())
		}
		if s.PersistentVolumeClaims != nil || !strings.Contains(s.ClaimsUnread(), "persistentvolumeclaims") {
			t.Errorf("%s: claims %v, unread %q", road, s.PersistentVolumeClaims, s.ClaimsUnread())
		}
		if s.Workload.Name() != "web" {
			t.Errorf("%s: workload %s", road, s.Workload.Ref())
		}
	}
}

// Only a refusal is forgiven: any other failure to list Leases fails the
// read, as for every other kind.
func TestLeasesOtherErrorFails(t *testing.T) {
	broken := apierrors.NewInternalError(errors.New("etcd timeout"))
	c := fake.NewClientset(copyObjects()...)
	refuse(c, "leases", broken)
	if _, err := snapshotOf(t, c); err == nil || !strings.Contains(err.Error(), "listing leases in shop") {
		t.Errorf("alone: error %v, want listing leases in shop", err)
	}
	c = fake.NewClientset(copyObjects()...)
	refuse(c, "leases", broken)
	if _, err := auditSnapshots(t, c); err == nil || !strings.Contains(err.Error(), "listing leases") {
		t.Errorf("audit: error %v, want listing leases", err)
	}
}
