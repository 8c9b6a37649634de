// Package apply writes a Plan to the cluster: a server-side dry-run of
// every object first, then server-side apply under harden's field manager,
// then a rollout watch with the semantics of kubectl rollout status.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
)

// Applier applies plans with server-side apply.
type Applier struct {
	Client       dynamic.Interface
	Mapper       meta.RESTMapper
	FieldManager string
	// Force takes ownership of fields another manager owns
	// (--force-conflicts); without it a conflict stops the apply.
	Force bool
	// Warnings collects the API server's warnings (admission, deprecation).
	Warnings *Warnings
}

// Warnings is a rest.WarningHandler that keeps what the server said.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader records one warning.
func (w *Warnings) HandleWarningHeader(code int, agent string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.list {
		if s == text {
			return
		}
	}
	w.list = append(w.list, text)
}

// Take returns the warnings seen since the last Take.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// DryRun sends every object of the plan as a server-side dry-run apply. On
// success each object's After becomes what the server would store, so the
// diff shows defaulting and admission mutations too. Fields another manager
// owns are returned as conflicts (without --force-conflicts), and the
// object's After is then what forcing would give, so a preview still shows
// the whole change.
func (a *Applier) DryRun(ctx context.Context, p *plan.Plan) ([]*ConflictError, error) {
	var conflicts []*ConflictError
	for _, o := range p.Objects {
		got, err := a.apply(ctx, o, true, a.Force)
		var ce *ConflictError
		if errors.As(err, &ce) {
			conflicts = append(conflicts, ce)
			got, err = a.apply(ctx, o, true, true)
		}
		if err != nil {
			return conflicts, err
		}
		o.After = plan.Clean(got.Object)
	}
	return conflicts, nil
}

// Apply writes the plan's objects in order: the workload (and existing
// objects) first, companions after. It returns the objects written, so a
// caller can report or undo them when a later one fails.
func (a *Applier) Apply(ctx context.Context, p *plan.Plan) ([]*plan.Object, error) {
	var done []*plan.Object
	for _, o := range p.Objects {
		if _, err := a.apply(ctx, o, false, a.Force); err != nil {
			return done, err
		}
		done = append(done, o)
	}
	return done, nil
}

func (a *Applier) resource(o *plan.Object) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return nil, err
	}
	m, err := a.Mapper.RESTMapping(gv.WithKind(o.Kind).GroupKind(), gv.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.Client.Resource(m.Resource).Namespace(o.Namespace), nil
	}
	return a.Client.Resource(m.Resource), nil
}

func (a *Applier) apply(ctx context.Context, o *plan.Object, dryRun, force bool) (*unstructured.Unstructured, error) {
	r, err := a.resource(o)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(o.Apply)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: a.FieldManager, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := r.Patch(ctx, o.Name, types.ApplyPatchType, body, opts)
	if err != nil {
		return nil, explain(o, err)
	}
	return got, nil
}

// ConflictError names the other field managers and the fields they own.
type ConflictError struct {
	Object    string
	Conflicts []string // `.spec.replicas (owned by "kubectl-client-side-apply")`
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict on %s: %s (--force-conflicts takes ownership)", e.Object, strings.Join(e.Conflicts, ", "))
}

// explain turns server errors into messages naming the object, and
// conflicts into a ConflictError.
func explain(o *plan.Object, err error) error {
	ref := o.Ref()
	if o.Namespace != "" {
		ref = o.Namespace + "/" + ref
	}
	var status apierrors.APIStatus
	if apierrors.IsConflict(err) && errors.As(err, &status) && status.Status().Details != nil {
		ce := &ConflictError{Object: ref}
		for _, c := range status.Status().Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				manager := strings.TrimPrefix(c.Message, "conflict with ")
				if i := strings.Index(manager, " using "); i > 0 {
					manager = manager[:i]
				}
				ce.Conflicts = append(ce.Conflicts, fmt.Sprintf("%s is owned by field manager %s", c.Field, manager))
			}
		}
		if len(ce.Conflicts) > 0 {
			return ce
		}
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// Get reads the live object a plan object names.
func (a *Applier) Get(ctx context.Context, o *plan.Object) (*unstructured.Unstructured, error) {
	r, err := a.resource(o)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, o.Name, metav1.GetOptions{})
}
