package engine

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// Right is one thing a run asks of the API server: a verb on a resource in
// a namespace (on one object when Name is set), and what it is needed for.
type Right struct {
	Verb      string
	Group     string
	Resource  string // plural, as RBAC names it: poddisruptionbudgets
	Namespace string
	Name      string
	// For says what could not be done without it, e.g. "a failed
	// rollout could not be rolled back".
	For string
}

// String is the right as kubectl auth can-i takes it: "delete
// poddisruptionbudgets".
func (r Right) String() string { return r.Verb + " " + r.Resource }

// AccessError is a run refused before its first write because the user
// lacks rights it, or its rollback, would need.
type AccessError struct {
	Missing []Right
}

func (e *AccessError) Error() string {
	first := e.Missing[0]
	where := "in namespace " + first.Namespace
	if first.Namespace == "" {
		where = "cluster-wide"
	}
	msg := fmt.Sprintf("cannot %s %s: %s", first, where, first.For)
	if len(e.Missing) > 1 {
		var also []string
		for _, r := range e.Missing[1:] {
			also = append(also, r.String())
		}
		msg += " (also missing: " + strings.Join(also, ", ") + ")"
	}
	return msg + "; nothing was changed"
}

// Why a right is needed, in the user's terms.
const (
	forApply    = "the fixes could not be applied"
	forCreate   = "could not be created"
	forRollback = "a failed rollout could not be rolled back"
	forWatch    = "the rollout could not be watched"
	// A StatefulSet keeps a pod that never became Ready on the failed
	// revision after its template is restored.
	forStuckPods = "a failed rollout could not be rolled back (a StatefulSet's pods stuck on the failed revision are deleted to be recreated)"
)

// Rights lists what writing p, watching its rollout (when the engine
// watches) and rolling it back need, most essential first: patch on each
// object harden changes (server-side apply writes, and a rollback writes
// again, with a PATCH); create and patch on each companion it creates, and
// get and delete to remove it on a rollback; delete on the pods of a
// StatefulSet, whose rollback deletes the pods stuck on the failed
// revision; get, list and watch on what rolls (by name) and list and
// watch on its pods, which the rollout watch reads.
func (e *Engine) Rights(p *plan.Plan) ([]Right, error) {
	var out []Right
	seen := map[Right]bool{}
	add := func(r Right) {
		key := r
		key.For = ""
		if !seen[key] {
			seen[key] = true
			out = append(out, r)
		}
	}
	var rollbacks, watches []Right
	for _, o := range p.Objects {
		gvr, namespaced, err := e.resourceOf(o)
		if err != nil {
			return nil, err
		}
		ns := ""
		if namespaced {
			ns = o.Namespace
		}
		r := Right{Group: gvr.Group, Resource: gvr.Resource, Namespace: ns}
		if !o.Create {
			add(with(r, "patch", o.Name, forApply))
			if e.Commit.Watch && apply.Rolls(o) {
				// The watch lists and watches the workload by name, as
				// kubectl rollout status does, and its pods.
				watches = append(watches, with(r, "get", o.Name, forWatch), with(r, "list", o.Name, forWatch), with(r, "watch", o.Name, forWatch),
					Right{Verb: "list", Resource: "pods", Namespace: ns, For: forWatch}, Right{Verb: "watch", Resource: "pods", Namespace: ns, For: forWatch})
			}
			if o.Kind == "StatefulSet" && apply.Rolls(o) {
				// Its rollback deletes the pods stuck on the failed
				// revision: the controller does not replace them.
				rollbacks = append(rollbacks, Right{Verb: "delete", Resource: "pods", Namespace: ns, For: forStuckPods})
			}
			continue
		}
		created := fmt.Sprintf("%s %s", o.Ref(), forCreate)
		// Create authorises no name; a server-side apply that creates
		// is a PATCH of the named object, then a create.
		add(with(r, "patch", o.Name, created))
		add(with(r, "create", "", created))
		rollbacks = append(rollbacks, with(r, "get", o.Name, forRollback), with(r, "delete", o.Name, forRollback))
	}
	for _, r := range append(rollbacks, watches...) {
		add(r)
	}
	return out, nil
}

func with(r Right, verb, name, why string) Right {
	r.Verb, r.Name, r.For = verb, name, why
	return r
}

func (e *Engine) resourceOf(o *plan.Object) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	m, err := e.Applier.Mapper.RESTMapping(gv.WithKind(o.Kind).GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// CheckAccess asks the API server, with one SelfSubjectAccessReview per
// right, whether the user may do everything writing p and rolling it back
// needs (with Engine.Access set, rights it already answered are not asked
// again, see AccessCache). It returns an *AccessError naming what is
// missing, or nil. An API server that answers no access reviews at all is
// not a reason to refuse: the writes then meet the same authoriser.
func (e *Engine) CheckAccess(ctx context.Context, p *plan.Plan) error {
	rights, err := e.Rights(p)
	if err != nil {
		return err
	}
	allowed := make([]bool, len(rights))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, r := range rights {
		g.Go(func() error {
			var err error
			if e.Access != nil {
				allowed[i], err = e.Access.allowed(gctx, r, e.review)
			} else {
				allowed[i], err = e.review(gctx, r)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var missing []Right
	for i, ok := range allowed {
		if !ok {
			missing = append(missing, rights[i])
		}
	}
	if len(missing) > 0 {
		return &AccessError{Missing: missing}
	}
	return nil
}

// review asks the API server whether the user may do r, with one
// SelfSubjectAccessReview. A review the API server refuses or does not
// serve counts as allowed (see CheckAccess); any other failure is an
// error naming r's namespace.
func (e *Engine) review(ctx context.Context, r Right) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: r.Namespace, Verb: r.Verb, Group: r.Group, Resource: r.Resource, Name: r.Name,
		}}}
	got, err := e.Reader.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("checking your rights in namespace %s: %w", r.Namespace, err)
	}
	return got.Status.Allowed, nil
}
