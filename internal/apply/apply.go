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
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
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
	// StatusViewer gives the rollout status viewer of a kind, which says
	// whether a rollout is done and how far it is; nil means kubectl
	// rollout status' own, polymorphichelpers.StatusViewerFor.
	StatusViewer func(schema.GroupKind) (polymorphichelpers.StatusViewer, error)
	// Pods lists and watches pods; nil means Client's.
	Pods PodLister
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
	return a.ApplyRecorded(ctx, p, entry, nil)
}

// ApplyRecorded is Apply calling record (the journal) after every change
// of an object's state in entry: each write, each step undoing them.
func (a *Applier) ApplyRecorded(ctx context.Context, p *plan.Plan, entry *Entry, record func()) error {
	_, err := a.applyRecorded(ctx, p, entry, record)
	return err
}

// applyRecorded is ApplyRecorded returning, on success, each object as
// the API server answered its write (by p.Objects index): the live object
// just after it, which Commit reads instead of asking again.
func (a *Applier) applyRecorded(ctx context.Context, p *plan.Plan, entry *Entry, record func()) ([]*unstructured.Unstructured, error) {
	if record == nil {
		record = func() {}
	}
	written := make([]*unstructured.Unstructured, len(p.Objects))
	for i, o := range p.Objects {
		c := &entry.Objects[i]
		if o.Create {
			// A companion harden made in an earlier run is not this run's
			// to delete.
			if live, err := a.Get(ctx, o); err == nil && a.ours(live) {
				c.Existed = true
			}
		}
		got, err := a.apply(ctx, o, false, a.Force || o.Force)
		if err == nil {
			written[i] = got
			c.State = StateWritten
			record()
			continue
		}
		tx := &TxError{Failed: ref(o), Err: err, Command: entry.UndoCommand()}
		// A write the API server answered was not made, nor one whose
		// connection it refused (the request never left); one without an
		// answer may have been: it stays pending, and undo checks it.
		var status apierrors.APIStatus
		if errors.As(err, &status) || errors.As(err, new(*ConflictError)) || errors.As(err, new(*InvalidError)) || errors.Is(err, ErrChanged) ||
			utilnet.IsConnectionRefused(err) {
			c.State = StateAbsent
		}
		for j := i + 1; j < len(entry.Objects); j++ {
			entry.Objects[j].State = StateAbsent
		}
		record()
		if i > 0 || c.State == StatePending {
			var todo []string
			for _, x := range entry.Objects {
				if x.State == StateWritten {
					todo = append(todo, ref(x.Object()))
				}
			}
			done, uerr := a.Undo(context.WithoutCancel(ctx), entry, false, record)
			if tx.UndoErr = uerr; uerr != nil {
				tx.Undone = todo
			} else {
				tx.Undone = append(done.Restored, done.Deleted...)
			}
		}
		return nil, tx
	}
	return written, nil
}

// UndoCommand is the command that finishes what the entry's run left,
// e.g. "kubectl harden undo deployment/web -n shop".
func (e *Entry) UndoCommand() string {
	i := e.carrier()
	if i < 0 {
		return ""
	}
	c := e.Objects[i]
	cmd := "kubectl harden undo " + strings.ToLower(c.Kind) + "/" + c.Name
	if c.Namespace != "" {
		cmd += " -n " + c.Namespace
	}
	return cmd
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
	// Command finishes the undo once the cluster answers.
	Command string
}

func (e *TxError) Error() string {
	msg := e.Err.Error()
	if Transient(e.Err) {
		msg = "writing " + e.Failed + ": " + Brief(e.Err)
	} else if !strings.HasPrefix(msg, e.Failed) && !strings.HasPrefix(msg, "conflict on") {
		msg = "writing " + e.Failed + ": " + msg
	}
	switch {
	case e.UndoErr != nil:
		then := "run kubectl harden undo once the cluster answers"
		switch {
		case e.Command != "":
			then = "run " + e.Command + " once the cluster answers"
		case e.Workload != "":
			then = "run kubectl harden undo " + e.Workload + " once the cluster answers"
		}
		what := strings.Join(e.Undone, ", ")
		if what == "" {
			what = "the writes made"
		}
		return fmt.Sprintf("%s; undoing %s failed too (%s): %s", msg, what, Brief(e.UndoErr), then)
	case len(e.Undone) == 0:
		return msg + "; nothing was changed"
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

// Undone is what an undo or a rollback did.
type Undone struct {
	// Restored and Deleted name (NS/KIND.GROUP/NAME) the objects put back
	// and the companions deleted — only those that existed.
	Restored, Deleted []string
	// Kept are the fields harden set that another manager changed since,
	// left with it: `.spec.replicas (4, set by kubectl-scale during the run)`.
	Kept []string
	// Whole are the objects (a probe) put back as a whole, over another
	// manager's change inside them, since what remained would be invalid.
	Whole []string
	// Left are companions not deleted: not harden's, or there before the run.
	Left []string
	// Warnings did not stop the undo.
	Warnings []string
}

func (u *Undone) add(o *Undone) {
	u.Restored = append(u.Restored, o.Restored...)
	u.Deleted = append(u.Deleted, o.Deleted...)
	u.Kept = append(u.Kept, o.Kept...)
	u.Whole = append(u.Whole, o.Whole...)
	u.Left = append(u.Left, o.Left...)
	u.Warnings = append(u.Warnings, o.Warnings...)
}

// Undo reverses the entry's run, recording every step in the entry's
// object states (record is called after each; it may be nil). Updated
// objects are put back first, last written first; the companions harden
// created are deleted after, and only once every updated object is back:
// when one cannot be restored, the companions stay and the error says so.
// Objects already finished (restored, deleted…) are skipped, so an undo
// finishes what a rollback or an earlier undo left.
//
// Without force, only what harden changed and nobody changed since is
// written back: a field another manager changed during the run is left
// with it (Undone.Kept); when that field sits in an object that is not
// valid without harden's part (a probe harden added, whose handler would
// go), that object is put back as a whole, as it was (Undone.Whole). With
// force, every field harden set is put back, whoever changed it since.
func (a *Applier) Undo(ctx context.Context, entry *Entry, force bool, record func()) (*Undone, error) {
	if record == nil {
		record = func() {}
	}
	out := &Undone{}
	carrier := entry.carrier()
	companionsLeft := func() bool {
		for _, c := range entry.Objects {
			if c.Created && !c.Finished() {
				return true
			}
		}
		return false
	}
	for i := len(entry.Objects) - 1; i >= 0; i-- {
		c := &entry.Objects[i]
		if c.Created || c.Finished() {
			continue
		}
		// The carrier keeps the record while companions remain, so an
		// undo from any machine finds them.
		done, err := a.restore(ctx, entry, i, force, i == carrier && companionsLeft())
		if err != nil {
			c.State, c.Note = StateFailed, oneLine(err.Error())
			record()
			var waiting []string
			for _, x := range entry.Objects {
				if x.Created && !x.Finished() {
					waiting = append(waiting, ref(x.Object()))
				}
			}
			if len(waiting) > 0 {
				return out, fmt.Errorf("%w; %s kept: companions are deleted only once the workload is restored", err, strings.Join(waiting, ", "))
			}
			return out, err
		}
		out.add(done)
		record()
	}
	var errs []error
	for i := len(entry.Objects) - 1; i >= 0; i-- {
		c := &entry.Objects[i]
		if !c.Created || c.Finished() {
			continue
		}
		if err := a.deleteCompanion(ctx, c, out); err != nil {
			c.State, c.Note = StateFailed, oneLine(err.Error())
			errs = append(errs, err)
		}
		record()
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	if carrier >= 0 {
		if err := a.dropRecord(ctx, entry, carrier); err != nil {
			out.Warnings = append(out.Warnings, fmt.Sprintf("the undo record could not be removed from %s: %s (kubectl harden undo removes it)", ref(entry.Objects[carrier].Object()), oneLine(err.Error())))
		}
	}
	return out, nil
}

// ours reports whether a live companion carries harden's label.
func (a *Applier) ours(live *unstructured.Unstructured) bool {
	l := live.GetLabels()[ManagedByLabel]
	return l == a.FieldManager || l == plan.DefaultFieldManager
}

// deleteCompanion deletes a companion the run created, if it exists and
// is still harden's.
func (a *Applier) deleteCompanion(ctx context.Context, c *Change, out *Undone) error {
	o := c.Object()
	r, err := a.resource(o)
	if err != nil {
		return err
	}
	live, err := r.Get(ctx, o.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.State = StateAbsent
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", ref(o), err)
	case !a.ours(live):
		c.State = StateLeft
		out.Left = append(out.Left, ref(o)+" (not created by kubectl harden)")
		return nil
	case c.Existed:
		c.State = StateLeft
		out.Left = append(out.Left, ref(o)+" (there before the run)")
		return nil
	}
	uid := live.GetUID()
	err = r.Delete(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case apierrors.IsNotFound(err):
		c.State = StateAbsent
	case err != nil:
		return fmt.Errorf("deleting %s: %w", ref(o), err)
	default:
		c.State = StateDeleted
		out.Deleted = append(out.Deleted, ref(o))
	}
	return nil
}

// restore puts back one updated object (see Undo). With keepRecord the
// object keeps the entry (as it now stands) in its annotation.
func (a *Applier) restore(ctx context.Context, entry *Entry, i int, force, keepRecord bool) (*Undone, error) {
	c := &entry.Objects[i]
	out := &Undone{}
	o := c.Object()
	r, err := a.resource(o)
	if err != nil {
		return nil, err
	}
	live, err := r.Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.State = StateAbsent
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref(o), err)
	}
	if c.State == StatePending && !a.written(live, entry, i) {
		c.State = StateAbsent
		return out, nil
	}
	restore := objmerge.DeepCopy(c.Restore)
	if restore == nil {
		restore = map[string]any{}
	}
	// Fields of earlier runs (in Restore, not in Set) that another manager
	// took since are theirs now: this run never touched them.
	out.Kept = append(out.Kept, a.leaveTaken(live, restore, c.Set, o)...)
	// A field another manager changed during the run is left with it
	// (without force), unless it sits in an object harden created that is
	// not valid without harden's part (a probe without its handler): that
	// object is removed whole first, as it was before the run, with a
	// JSON patch that checks it is still what was read.
	drifts, err := drifted(live, c.Set, a.FieldManager)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref(o), err)
	}
	wholes := map[string][]Drift{}
	var units []fieldpath.Path
	for _, d := range drifts {
		if unit := unitOf(d.Path); unit != nil {
			if _, existed := lookupPath(c.Prior, unit); !existed {
				if _, seen := wholes[unit.String()]; !seen {
					units = append(units, unit)
				}
				wholes[unit.String()] = append(wholes[unit.String()], d)
				continue
			}
		}
		if !force {
			removePath(restore, d.Path)
			out.Kept = append(out.Kept, describeOn(o, d))
		}
	}
	if len(units) > 0 {
		var ops []plan.Operation
		// Last first, so the indexes of list items stay right.
		for k := len(units) - 1; k >= 0; k-- {
			ptr, v, ok := pointer(live.Object, units[k])
			if !ok {
				continue
			}
			ops = append(ops, plan.Operation{Op: "test", Path: ptr, Value: v}, plan.Operation{Op: "remove", Path: ptr})
			var lost []string
			for _, d := range wholes[units[k].String()] {
				lost = append(lost, d.describe())
			}
			out.Whole = append(out.Whole, fmt.Sprintf("%s%s put back as it was before the run, so the change made to it during the run is gone: %s", prefixOf(o), units[k].String(), strings.Join(lost, ", ")))
		}
		body, err := json.Marshal(ops)
		if err != nil {
			return nil, err
		}
		if _, err := r.Patch(ctx, o.Name, types.JSONPatchType, body, metav1.PatchOptions{FieldManager: a.FieldManager}); err != nil {
			return nil, explain(o, err)
		}
	}
	c.State = StateRestored
	if keepRecord {
		b, err := entry.marshal()
		if err != nil {
			return nil, err
		}
		if err := unstructured.SetNestedField(restore, b, "metadata", "annotations", UndoAnnotation); err != nil {
			return nil, err
		}
	}
	obj := &plan.Object{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Apply: restore}
	if _, err := a.apply(ctx, obj, false, true); err != nil {
		c.State = StateWritten
		return nil, err
	}
	if force {
		if err := a.prune(ctx, r, *c); err != nil {
			return nil, fmt.Errorf("%s: %w", ref(o), err)
		}
	}
	if err := a.giveBack(ctx, r, c.Name, c.Taken); err != nil {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s: the fields the run took from other field managers are restored but still owned by %s: %s", ref(o), a.FieldManager, oneLine(err.Error())))
	}
	out.Restored = append(out.Restored, ref(o))
	return out, nil
}

// giveBack hands the fields a run took from other managers back to them
// once their values are restored, by rewriting metadata.managedFields — as
// kubectl's own migration to server-side apply does — so that after an
// undo each manager owns what it owned before and harden's next run sees
// the same owners. The spec is not touched; the write is guarded by the
// resourceVersion read and retried a few times if the object moves.
func (a *Applier) giveBack(ctx context.Context, r dynamic.ResourceInterface, name string, taken []owners.Taken) error {
	if len(taken) == 0 {
		return nil
	}
	var err error
	for range 3 {
		var live *unstructured.Unstructured
		if live, err = r.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return err
		}
		entries, changed, gerr := owners.GiveBack(live.GetManagedFields(), a.FieldManager, taken, metav1.Now())
		if gerr != nil || !changed {
			return gerr
		}
		ops := []plan.Operation{
			{Op: "test", Path: "/metadata/resourceVersion", Value: live.GetResourceVersion()},
			{Op: "replace", Path: "/metadata/managedFields", Value: entries},
		}
		body, merr := json.Marshal(ops)
		if merr != nil {
			return merr
		}
		if _, err = r.Patch(ctx, name, types.JSONPatchType, body, metav1.PatchOptions{FieldManager: a.FieldManager}); err == nil {
			return nil
		}
	}
	return err
}

// written tells whether the pending write of entry's object i was made:
// the carrier holds the entry's record, another object what the run set.
func (a *Applier) written(live *unstructured.Unstructured, entry *Entry, i int) bool {
	if i == entry.carrier() {
		rec, err := FromAnnotation(live)
		return err == nil && rec != nil && rec.ID == entry.ID
	}
	set := objmerge.DeepCopy(entry.Objects[i].Set)
	unstructured.RemoveNestedField(set, "metadata", "resourceVersion")
	return objmerge.Contains(plan.Clean(live.Object), plan.Clean(set))
}

// dropRecord removes the entry's annotation from the carrier once nothing
// is left to undo, changing nothing else.
func (a *Applier) dropRecord(ctx context.Context, entry *Entry, i int) error {
	c := entry.Objects[i]
	o := c.Object()
	live, err := a.Get(ctx, o)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := FromAnnotation(live)
	if err != nil || rec == nil || rec.ID != entry.ID || entry.Open() {
		return nil
	}
	cfg, err := extract(live, managerSet(live, a.FieldManager, true))
	if err != nil {
		return err
	}
	unstructured.RemoveNestedField(cfg, "metadata", "annotations", UndoAnnotation)
	_, err = a.apply(ctx, &plan.Object{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Apply: cfg}, false, true)
	return err
}

// prefixOf names an object other than a workload in a field note.
func prefixOf(o *plan.Object) string {
	if Rolls(o) {
		return ""
	}
	return o.Ref() + " "
}

func describeOn(o *plan.Object, d Drift) string { return prefixOf(o) + d.describe() }

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
