package engine

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/pkg/apply"
	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/objmerge"
	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
)

// Undone is what an undo did.
type Undone struct {
	// Entry is the run that was undone.
	Entry *apply.Entry
	// Restored and Deleted name the objects put back and the companions
	// deleted (KIND.GROUP/NAME).
	Restored, Deleted []string
	// Warnings did not stop the undo.
	Warnings []string
}

// Undo puts back what the last run on w changed and deletes the companions
// it created; with force it undoes over later edits of the fields harden
// set (and removes what harden added that another manager took since).
// With watch it waits for the rollout the undo causes, reporting progress.
// It errs when there is no run to undo or a field harden set has changed
// since (without force).
func (e *Engine) Undo(ctx context.Context, w *inspect.Workload, force, watch bool, progress func(string)) (*Undone, error) {
	w, err := e.Read(ctx, w)
	if err != nil {
		return nil, err
	}
	entry, err := e.LastRun(w)
	if err != nil {
		return nil, err
	}
	if !force {
		if err := e.drift(ctx, entry); err != nil {
			return nil, err
		}
	}
	if err := e.Applier.Undo(ctx, entry.Objects, force); err != nil {
		return nil, fmt.Errorf("undoing %s: %w", w.Ref(), err)
	}
	out := &Undone{Entry: entry}
	done := &apply.Entry{Time: time.Now().UTC().Truncate(time.Second), Action: "undo", Rules: entry.Rules, Objects: entry.Objects}
	if err := e.Commit.Journal.Append(e.Commit.Cluster, w.Namespace(), w.Kind(), w.Name(), done); err != nil {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the local journal could not be written: %v", err))
	}
	for _, c := range entry.Objects {
		if c.Created {
			out.Deleted = append(out.Deleted, c.Object().Ref())
		} else {
			out.Restored = append(out.Restored, c.Object().Ref())
		}
	}
	if watch {
		for _, c := range entry.Objects {
			if obj := c.Object(); apply.Rolls(obj) {
				if err := e.Applier.WaitRollout(ctx, obj, e.Commit.Timeout, progress, nil); err != nil {
					return out, err
				}
			}
		}
	}
	return out, nil
}

// LastRun is the run to undo: the workload's annotation, else the local
// journal's last harden run not undone or rolled back since.
func (e *Engine) LastRun(w *inspect.Workload) (*apply.Entry, error) {
	entry, err := apply.FromAnnotation(w.Object)
	if err != nil || entry != nil {
		return entry, err
	}
	entries, err := e.Commit.Journal.List(e.Commit.Cluster, w.Namespace(), w.Kind(), w.Name())
	if err != nil {
		return nil, err
	}
	// Without the annotation, the last local run counts only while the
	// workload still holds what it set: otherwise it was undone (perhaps
	// from another machine) or overwritten.
	if n := len(entries); n > 0 && entries[n-1].Action == "harden" && holds(w, &entries[n-1]) {
		return &entries[n-1], nil
	}
	return nil, fmt.Errorf("%s in namespace %s has no kubectl harden run to undo", w.Ref(), w.Namespace())
}

// drift refuses to undo over changes made after harden: every field the run
// set must still hold the value it set.
func (e *Engine) drift(ctx context.Context, entry *apply.Entry) error {
	for _, c := range entry.Objects {
		if c.Created || len(c.Set) == 0 {
			continue
		}
		live, err := e.Applier.Get(ctx, c.Object())
		if err != nil {
			return err
		}
		set := objmerge.DeepCopy(c.Set)
		unstructured.RemoveNestedField(set, "metadata", "resourceVersion")
		if !objmerge.Contains(plan.Clean(live.Object), plan.Clean(set)) {
			return fmt.Errorf("%s changed after kubectl harden set its fields; undo would overwrite that change (--force-conflicts undoes anyway)", c.Object().Ref())
		}
	}
	return nil
}

// holds reports whether the workload still holds every value the run set.
func holds(w *inspect.Workload, entry *apply.Entry) bool {
	for _, c := range entry.Objects {
		if !c.Created && c.Kind == w.Kind() && c.Name == w.Name() {
			return objmerge.Contains(plan.Clean(w.Object.Object), plan.Clean(c.Set))
		}
	}
	return false
}
