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

	"github.com/kubectl-harden/kubectl-harden/pkg/objmerge"
	"github.com/kubectl-harden/kubectl-harden/pkg/owners"
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
		if o.Create {
			if err := a.notTaken(ctx, o); err != nil {
				return conflicts, err
			}
		}
		got, err := a.apply(ctx, o, true, a.Force || o.Force)
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

// Apply writes the plan's objects in order — the workload (and existing
// objects) first, companions after — as one transaction: when a write
// fails, the writes already made are undone with the entry, and the error
// says exactly what happened.
func (a *Applier) Apply(ctx context.Context, p *plan.Plan, entry *Entry) error {
	var done []Change
	for i, o := range p.Objects {
		if _, err := a.apply(ctx, o, false, a.Force || o.Force); err != nil {
			tx := &TxError{Failed: ref(o), Err: err}
			for _, c := range done {
				tx.Undone = append(tx.Undone, ref(c.Object()))
			}
			if len(done) > 0 {
				tx.UndoErr = a.Undo(ctx, done, false)
			}
			return tx
		}
		done = append(done, entry.Objects[i])
	}
	return nil
}

// TxError is a write that failed inside a plan, and what became of the
// writes before it.
type TxError struct {
	Failed  string
	Err     error
	Undone  []string
	UndoErr error
	// Workload names the run's workload for the undo command:
	// deployment/web -n shop.
	Workload string
}

func (e *TxError) Error() string {
	msg := e.Err.Error()
	if Transient(e.Err) {
		msg = "writing " + e.Failed + ": " + Brief(e.Err)
	} else if !strings.HasPrefix(msg, e.Failed) && !strings.HasPrefix(msg, "conflict on") {
		msg = "writing " + e.Failed + ": " + msg
	}
	switch {
	case len(e.Undone) == 0:
		return msg + "; nothing was changed"
	case e.UndoErr != nil:
		return fmt.Sprintf("%s; undoing %s failed too (%s): run kubectl harden undo %s once the cluster answers", msg, strings.Join(e.Undone, ", "), Brief(e.UndoErr), e.Workload)
	}
	return fmt.Sprintf("%s; %s restored as it was", msg, strings.Join(e.Undone, ", "))
}

func (e *TxError) Unwrap() error { return e.Err }

// ObjectRef names a plan object with its namespace, as errors do:
// NS/KIND.GROUP/NAME.
func ObjectRef(o *plan.Object) string { return ref(o) }

func ref(o *plan.Object) string {
	if o.Namespace != "" {
		return o.Namespace + "/" + o.Ref()
	}
	return o.Ref()
}

// Undo reverses changes, last first: companions harden created are
// deleted (only if they still carry harden's label), updated objects get
// their Restore configuration applied. With force, fields harden had
// added that another manager has since taken over are removed too.
func (a *Applier) Undo(ctx context.Context, changes []Change, force bool) error {
	var errs []error
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		o := c.Object()
		r, err := a.resource(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Created {
			live, err := r.Get(ctx, o.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ref(o), err))
				continue
			}
			if live.GetLabels()[ManagedByLabel] != a.FieldManager && live.GetLabels()[ManagedByLabel] != plan.DefaultFieldManager {
				continue // not ours any more
			}
			uid := live.GetUID()
			err = r.Delete(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting %s: %w", ref(o), err))
			}
			continue
		}
		if _, err := a.apply(ctx, o, false, true); err != nil {
			errs = append(errs, err)
			continue
		}
		if force {
			if err := a.prune(ctx, r, c); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ref(o), err))
			}
		}
	}
	return errors.Join(errs...)
}

// prune removes what the undone run added and server-side apply kept
// because another manager owns it now, with a JSON patch whose "test"
// operations check each value it removes is still the one read (the
// resourceVersion moves with every status update, so it cannot serve).
func (a *Applier) prune(ctx context.Context, r dynamic.ResourceInterface, c Change) error {
	live, err := r.Get(ctx, c.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := objmerge.DeepCopy(live.Object)
	objmerge.Prune(want, c.Set, c.Prior)
	o := &plan.Object{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Before: live.Object, After: want}
	ops, err := o.Patch()
	if err != nil || len(ops) == 0 {
		return err
	}
	var guarded []plan.Operation
	for _, op := range ops {
		if v, ok := plan.Lookup(live.Object, op.Path); ok && op.Op != "add" {
			guarded = append(guarded, plan.Operation{Op: "test", Path: op.Path, Value: v})
		}
		guarded = append(guarded, op)
	}
	body, err := json.Marshal(guarded)
	if err != nil {
		return err
	}
	_, err = r.Patch(ctx, c.Name, types.JSONPatchType, body, metav1.PatchOptions{FieldManager: a.FieldManager})
	return err
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
	Conflicts []string // `.spec.replicas is owned by field manager kubectl-client-side-apply`
	// Fields are the same conflicts, each with its manager's class.
	Fields []owners.Conflict
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict on %s: %s (--force-conflicts takes ownership)", e.Object, strings.Join(e.Conflicts, ", "))
}

// ErrChanged means an object changed between the read harden planned from
// and the write: the plan is stale and must be made again.
var ErrChanged = errors.New("changed since it was read")

// explain turns server errors into messages naming the object, conflicts
// into a ConflictError, and a failed resourceVersion precondition into
// ErrChanged.
func explain(o *plan.Object, err error) error {
	ref := ref(o)
	var status apierrors.APIStatus
	if apierrors.IsConflict(err) && errors.As(err, &status) && (status.Status().Details == nil || len(status.Status().Details.Causes) == 0) {
		return fmt.Errorf("%s %w", ref, ErrChanged)
	}
	if apierrors.IsConflict(err) && errors.As(err, &status) && status.Status().Details != nil {
		ce := &ConflictError{Object: ref}
		for _, c := range status.Status().Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				manager := strings.TrimPrefix(c.Message, "conflict with ")
				if i := strings.Index(manager, " using "); i > 0 {
					manager = manager[:i]
				}
				manager = strings.Trim(manager, `"`)
				ce.Conflicts = append(ce.Conflicts, fmt.Sprintf("%s is owned by field manager %s", c.Field, manager))
				ce.Fields = append(ce.Fields, owners.Conflict{Field: c.Field, Manager: manager, Class: owners.Classify(metav1.ManagedFieldsEntry{Manager: manager})})
			}
		}
		if len(ce.Conflicts) > 0 {
			return ce
		}
	}
	if apierrors.IsInvalid(err) && errors.As(err, &status) && status.Status().Details != nil && len(status.Status().Details.Causes) > 0 {
		return &InvalidError{Object: ref, Causes: invalidCauses(status.Status().Details.Causes), Err: err}
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// InvalidError is an object the API server refused as invalid, told as
// one line: each field and why, without the Go dump of the value the
// server puts in its message (a whole pod template for an immutable one).
type InvalidError struct {
	Object string
	Causes []string // "spec.template: field is immutable"
	Err    error
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s is invalid: %s", e.Object, strings.Join(e.Causes, "; "))
}

func (e *InvalidError) Unwrap() error { return e.Err }

// invalidCauses reads "FIELD: WHY" from a status' causes; a value longer
// than a short literal is left out.
func invalidCauses(causes []metav1.StatusCause) []string {
	var out []string
	for _, c := range causes {
		msg := c.Message
		if v, ok := strings.CutPrefix(msg, "Invalid value: "); ok && (len(v) > 80 || strings.ContainsAny(v, "{\n")) {
			if i := strings.LastIndex(v, ": "); i >= 0 {
				msg = v[i+2:]
			} else {
				msg = "invalid value"
			}
		}
		msg = strings.Join(strings.Fields(msg), " ")
		if c.Field != "" {
			msg = c.Field + ": " + msg
		}
		out = append(out, msg)
	}
	return out
}

// notTaken refuses to "create" a companion over an object of the same
// name that harden did not create: server-side apply would change it.
func (a *Applier) notTaken(ctx context.Context, o *plan.Object) error {
	live, err := a.Get(ctx, o)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return explain(o, err)
	}
	if live.GetLabels()[ManagedByLabel] != a.FieldManager && live.GetLabels()[ManagedByLabel] != plan.DefaultFieldManager {
		return fmt.Errorf("%s already exists and was not created by kubectl harden; nothing was changed", ref(o))
	}
	return nil
}

// Get reads the live object a plan object names.
func (a *Applier) Get(ctx context.Context, o *plan.Object) (*unstructured.Unstructured, error) {
	r, err := a.resource(o)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, o.Name, metav1.GetOptions{})
}
