package apply

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// UndoAnnotation holds, on the workload itself, the last run's undo entry,
// so `kubectl harden undo` works from any machine.
const UndoAnnotation = plan.UndoAnnotation

// ManagedByLabel marks companion objects harden created (plan.Build sets
// it on each).
const ManagedByLabel = plan.ManagedByLabel

// Entry records one run on one workload: enough to put back every field it
// changed and delete every companion it created.
//
// The entry is recorded before the first write, with every object
// pending, and recorded again after each write and each rollback step
// (the same ID: the journal keeps the latest), so an undo can always
// finish what a run, a rollback or an undo left.
type Entry struct {
	ID      string    `json:"id,omitempty"`
	Time    time.Time `json:"time"`
	Action  string    `json:"action"` // harden, undo or rollback
	Rules   []string  `json:"rules,omitempty"`
	Objects []Change  `json:"objects"`
}

// The states of an object in an entry.
const (
	// StatePending: not written yet, or written without an answer (the
	// API server went away): undo checks the live object.
	StatePending = "pending"
	// StateWritten: the run's change is on the object.
	StateWritten = "written"
	// StateRestored: rolled back or undone.
	StateRestored = "restored"
	// StateDeleted: a companion the run created, deleted again.
	StateDeleted = "deleted"
	// StateAbsent: nothing to undo — never written, or already gone.
	StateAbsent = "absent"
	// StateLeft: a companion that is not harden's (any more), left alone.
	StateLeft = "left"
	// StateFailed: a rollback or undo step failed; undo tries again.
	StateFailed = "failed"
)

// Finished reports whether an object needs nothing more from undo.
func (c Change) Finished() bool {
	switch c.State {
	case StateRestored, StateDeleted, StateAbsent, StateLeft:
		return true
	}
	return false
}

// Open reports whether undo has something left to do for the entry: an
// object written, pending or whose undo failed. Entries from before
// states were recorded are open when they are harden runs.
func (e *Entry) Open() bool {
	if e.ID == "" {
		return e.Action == "harden"
	}
	for _, c := range e.Objects {
		if !c.Finished() {
			return true
		}
	}
	return false
}

// rank orders states by progress, to merge two records of one run.
func rank(state string) int {
	switch state {
	case "", StatePending:
		return 0
	case StateWritten:
		return 1
	case StateFailed:
		return 2
	}
	return 3
}

// Merge takes from other (another record of the same run) every object
// state that is further along than e's.
func (e *Entry) Merge(other *Entry) {
	if other == nil || other.ID != e.ID || e.ID == "" {
		return
	}
	for i := range e.Objects {
		for _, o := range other.Objects {
			if o.Kind == e.Objects[i].Kind && o.Name == e.Objects[i].Name && o.Namespace == e.Objects[i].Namespace && rank(o.State) > rank(e.Objects[i].State) {
				e.Objects[i].State, e.Objects[i].Note = o.State, o.Note
			}
		}
	}
}

// Change is what one object needs to be undone.
type Change struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Created companions are deleted on undo.
	Created bool `json:"created,omitempty"`
	// Set is what harden applied; undo refuses when these fields have
	// changed since, unless forced.
	Set map[string]any `json:"set,omitempty"`
	// Restore is applied on undo.
	Restore map[string]any `json:"restore,omitempty"`
	// Prior says which positions of Set existed before; a forced undo
	// removes the others even when another manager took them over.
	Prior map[string]any `json:"prior,omitempty"`
	// State is how far the run and its undo got on this object (see
	// StatePending…); Note says why a step failed.
	State string `json:"state,omitempty"`
	Note  string `json:"note,omitempty"`
	// Existed marks a companion that was there (harden's, from an earlier
	// run) before this run wrote it: undo does not delete it.
	Existed bool `json:"existed,omitempty"`
	// Taken are the fields the run took from other managers: undo gives
	// back those it restored, so their owners own them again.
	Taken []owners.Taken `json:"taken,omitempty"`
}

// Object returns the plan object the change is about.
func (c Change) Object() *plan.Object {
	return &plan.Object{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Create: c.Created, Apply: c.Restore}
}

// NewEntry records the plan before it is applied.
func NewEntry(p *plan.Plan, now time.Time) *Entry {
	e := &Entry{ID: newID(now), Time: now.UTC().Truncate(time.Second), Action: "harden"}
	for _, o := range p.Objects {
		for _, r := range o.Rules {
			if !slices.Contains(e.Rules, r) {
				e.Rules = append(e.Rules, r)
			}
		}
		c := Change{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Created: o.Create, State: StatePending}
		if !o.Create {
			c.Set, c.Restore, c.Prior, c.Taken = stripUndo(o.Set), stripUndo(o.Restore), o.Prior, o.Taken
		}
		e.Objects = append(e.Objects, c)
	}
	return e
}

// newID names a run: its time and a few random bytes.
func newID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// stripUndo drops the undo annotation from a partial object: undo goes
// back one run, and entries never nest.
func stripUndo(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	ann, found, _ := unstructured.NestedMap(obj, "metadata", "annotations")
	if found {
		delete(ann, UndoAnnotation)
		if len(ann) == 0 {
			unstructured.RemoveNestedField(obj, "metadata", "annotations")
		} else {
			_ = unstructured.SetNestedMap(obj, ann, "metadata", "annotations")
		}
	}
	return obj
}

// Annotate adds the entry to the apply configuration of the plan's first
// updated object (the workload), compactly: the record travels with the
// first write, so no write happens without it.
func (e *Entry) Annotate(p *plan.Plan) error {
	b, err := e.marshal()
	if err != nil {
		return err
	}
	for _, o := range p.Objects {
		if !o.Create {
			return unstructured.SetNestedField(o.Apply, b, "metadata", "annotations", UndoAnnotation)
		}
	}
	return nil
}

func (e *Entry) marshal() (string, error) {
	b, err := json.Marshal(e)
	return string(b), err
}

// carrier is the object whose apply configuration holds the entry as an
// annotation: the first updated one.
func (e *Entry) carrier() int {
	for i, c := range e.Objects {
		if !c.Created {
			return i
		}
	}
	return -1
}

// FromAnnotation reads the entry a workload carries; nil when it has none.
func FromAnnotation(obj *unstructured.Unstructured) (*Entry, error) {
	v, ok := obj.GetAnnotations()[UndoAnnotation]
	if !ok {
		return nil, nil
	}
	var e Entry
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return nil, fmt.Errorf("annotation %s on %s/%s is not readable: %w", UndoAnnotation, obj.GetKind(), obj.GetName(), err)
	}
	// The record travels with the write to the object that carries it:
	// found there, that write was made.
	if i := e.carrier(); i >= 0 && e.ID != "" && rank(e.Objects[i].State) == 0 {
		e.Objects[i].State = StateWritten
	}
	return &e, nil
}

// Journal is the local record of every run, one JSON line per entry in
// $XDG_STATE_HOME/kubectl-harden/<cluster>/<namespace>/<kind>.<name>.jsonl.
type Journal struct {
	Dir string
}

// DefaultJournal returns the journal under $XDG_STATE_HOME (or
// ~/.local/state).
func DefaultJournal() Journal {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".local", "state")
	}
	return Journal{Dir: filepath.Join(base, "kubectl-harden")}
}

func (j Journal) path(cluster, namespace, kind, name string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '/' || r == ':' || r == '\\' || r < ' ' {
				return '_'
			}
			return r
		}, s)
	}
	return filepath.Join(j.Dir, clean(cluster), clean(namespace), strings.ToLower(kind)+"."+clean(name)+".jsonl")
}

// Append records an entry for the workload.
func (j Journal) Append(cluster, namespace, kind, name string, e *Entry) error {
	p := j.path(cluster, namespace, kind, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	// On disk before the write it records is made.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// List returns the workload's entries, oldest first; an entry recorded
// again (same ID) appears once, as last recorded, where it was first.
func (j Journal) List(cluster, namespace, kind, name string) ([]Entry, error) {
	f, err := os.Open(j.path(cluster, namespace, kind, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	at := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A line cut short (the machine stopped mid-write) is skipped.
			continue
		}
		if i, ok := at[e.ID]; ok && e.ID != "" {
			out[i] = e
			continue
		}
		if e.ID != "" {
			at[e.ID] = len(out)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
