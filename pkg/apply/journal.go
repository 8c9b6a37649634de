package apply

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
)

// UndoAnnotation holds, on the workload itself, the last run's undo entry,
// so `kubectl harden undo` works from any machine.
const UndoAnnotation = plan.UndoAnnotation

// ManagedByLabel marks companion objects harden created.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// Entry records one run on one workload: enough to put back every field it
// changed and delete every companion it created.
type Entry struct {
	Time    time.Time `json:"time"`
	Action  string    `json:"action"` // harden, undo or rollback
	Rules   []string  `json:"rules,omitempty"`
	Objects []Change  `json:"objects"`
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
}

// Object returns the plan object the change is about.
func (c Change) Object() *plan.Object {
	return &plan.Object{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Create: c.Created, Apply: c.Restore}
}

// NewEntry records the plan before it is applied.
func NewEntry(p *plan.Plan, now time.Time) *Entry {
	e := &Entry{Time: now.UTC().Truncate(time.Second), Action: "harden"}
	for _, o := range p.Objects {
		for _, r := range o.Rules {
			if !slices.Contains(e.Rules, r) {
				e.Rules = append(e.Rules, r)
			}
		}
		c := Change{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Created: o.Create}
		if !o.Create {
			c.Set, c.Restore, c.Prior = stripUndo(o.Set), stripUndo(o.Restore), o.Prior
		}
		e.Objects = append(e.Objects, c)
	}
	return e
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
// updated object (the workload), compactly.
func (e *Entry) Annotate(p *plan.Plan) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	for _, o := range p.Objects {
		if !o.Create {
			return unstructured.SetNestedField(o.Apply, string(b), "metadata", "annotations", UndoAnnotation)
		}
	}
	return nil
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
	return f.Close()
}

// List returns the workload's entries, oldest first.
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
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("journal %s: %w", f.Name(), err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
