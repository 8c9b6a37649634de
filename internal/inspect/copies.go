package inspect

// What tells whether a workload may run more copies (the replicas rule):
// the namespace's Leases (leader election) and PersistentVolumeClaims
// (their access modes). Both are optional reads: a user who may not list
// them still gets the rest of the inspection, and the rules are told why
// the list is missing.

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readCopyFacts lists the namespace's Leases and PersistentVolumeClaims
// into s, on g. A 403 (Forbidden) leaves the list empty and is recorded in
// unread (Snapshot.LeasesUnread, ClaimsUnread); any other error fails the
// read.
func (r *Reader) readCopyFacts(ctx context.Context, g *errgroup.Group, s *Snapshot, ns string, unread *unreadLog) {
	g.Go(func() error {
		l, err := r.Client.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
		if unread.tolerate("list", ResLeases, err, false) {
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
		if unread.tolerate("list", ResClaims, err, false) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing persistentvolumeclaims in %s: %w", ns, err)
		}
		s.PersistentVolumeClaims = l.Items
		return nil
	})
}

// copySources are the optional LISTs of the audit: Leases and
// PersistentVolumeClaims, a refusal recorded in unread.
func (r *Reader) copySources(sc Scope, unread *unreadLog) []source {
	c, ns := r.Client, sc.Namespace
	return []source{
		newSource(ResLeases, "", orEmpty(c.CoordinationV1().Leases(ns).List, unread, ResLeases),
			func(inv *Inventory, l []coordinationv1.Lease) { inv.Leases = l }),
		newSource(ResClaims, "", orEmpty(c.CoreV1().PersistentVolumeClaims(ns).List, unread, ResClaims),
			func(inv *Inventory, l []corev1.PersistentVolumeClaim) { inv.PersistentVolumeClaims = l }),
	}
}

// orEmpty wraps an optional LIST of the audit: a 403 (Forbidden) becomes an
// empty last page, recorded in unread under resource. The lists fail on
// their first page, and merge hands no namespace over before every list
// has a head or is closed, so a refusal is known before the first
// Inventory is made.
func orEmpty[T any, L interface{ *T }](list func(context.Context, metav1.ListOptions) (L, error),
	unread *unreadLog, resource string) func(context.Context, metav1.ListOptions) (L, error) {
	return func(ctx context.Context, o metav1.ListOptions) (L, error) {
		l, err := list(ctx, o)
		if unread.tolerate("list", resource, err, false) {
			return L(new(T)), nil
		}
		return l, err
	}
}

// copyFacts gives a workload's Snapshot its namespace's Leases and
// PersistentVolumeClaims, shared with the namespace's other Snapshots.
func (inv *Inventory) copyFacts(s *Snapshot) {
	s.Leases, s.PersistentVolumeClaims = inv.Leases, inv.PersistentVolumeClaims
}
