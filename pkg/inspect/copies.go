package inspect

// What tells whether a workload may run more copies (the replicas rule):
// the namespace's Leases (leader election) and PersistentVolumeClaims
// (their access modes). Both are optional reads: a user who may not list
// them still gets the rest of the inspection, and the rules are told why
// the list is missing.

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readCopyFacts lists the namespace's Leases and PersistentVolumeClaims
// into s, on g. A 403 (Forbidden) leaves the list empty and its reason in
// LeasesUnread / ClaimsUnread; any other error fails the read.
func (r *Reader) readCopyFacts(ctx context.Context, g *errgroup.Group, s *Snapshot, ns string) {
	g.Go(func() error {
		l, err := r.Client.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsForbidden(err) {
			s.LeasesUnread = err.Error()
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing leases in %s: %w", ns, err)
		}
		s.Leases = l.Items
		return nil
	})
	g.Go(func() error {
		l, err := r.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsForbidden(err) {
			s.ClaimsUnread = err.Error()
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing persistentvolumeclaims in %s: %w", ns, err)
		}
		s.PersistentVolumeClaims = l.Items
		return nil
	})
}

// listsDenied holds why an audit's optional LISTs were refused (403), set
// by their source and read for every namespace's Inventory. A source
// closes its channel only after its last LIST, and merge hands no
// namespace over before every channel has a head or is closed, so a
// refusal is known before the first Inventory is made.
type listsDenied struct{ leases, claims atomic.Pointer[string] }

// copySources are the optional LISTs of the audit: Leases and
// PersistentVolumeClaims, a refusal recorded in denied.
func (r *Reader) copySources(sc Scope, denied *listsDenied) []source {
	c, ns := r.Client, sc.Namespace
	return []source{
		newSource("leases", "", orEmpty(c.CoordinationV1().Leases(ns).List, &denied.leases),
			func(inv *Inventory, l []coordinationv1.Lease) { inv.Leases = l }),
		newSource("persistentvolumeclaims", "", orEmpty(c.CoreV1().PersistentVolumeClaims(ns).List, &denied.claims),
			func(inv *Inventory, l []corev1.PersistentVolumeClaim) { inv.PersistentVolumeClaims = l }),
	}
}

// orEmpty wraps a LIST: a 403 (Forbidden) becomes an empty last page, its
// message stored in denied.
func orEmpty[T any, L interface{ *T }](list func(context.Context, metav1.ListOptions) (L, error),
	denied *atomic.Pointer[string]) func(context.Context, metav1.ListOptions) (L, error) {
	return func(ctx context.Context, o metav1.ListOptions) (L, error) {
		l, err := list(ctx, o)
		if apierrors.IsForbidden(err) {
			msg := err.Error()
			denied.Store(&msg)
			return L(new(T)), nil
		}
		return l, err
	}
}

// fill sets an Inventory's reasons for the lists it lacks.
func (d *listsDenied) fill(inv *Inventory) {
	if m := d.leases.Load(); m != nil {
		inv.LeasesUnread = *m
	}
	if m := d.claims.Load(); m != nil {
		inv.ClaimsUnread = *m
	}
}

// copyFacts gives a workload's Snapshot its namespace's Leases and
// PersistentVolumeClaims, shared with the namespace's other Snapshots.
func (inv *Inventory) copyFacts(s *Snapshot) {
	s.Leases, s.LeasesUnread = inv.Leases, inv.LeasesUnread
	s.PersistentVolumeClaims, s.ClaimsUnread = inv.PersistentVolumeClaims, inv.ClaimsUnread
}
