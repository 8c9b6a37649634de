package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// Undone is what an undo did.
type Undone struct {
	// Entry is the run that was undone.
	Entry *apply.Entry
	// Restored and Deleted name the objects put back and the companions
	// deleted (KIND.GROUP/NAME) — only those that existed.
	Restored, Deleted []string
	// Kept, Whole and Left: see apply.Undone.
	Kept, Whole, Left []string
	// Notes say what undo does not put back, e.g. the replicas an HPA chose.
	Notes []string
	// Warnings did not stop the undo.
	Warnings []string
}

// Undo puts back what the last run on w changed and deletes the companions
// it created — the workload first, the companions only once it is back —
// finishing what a run or its rollback left (the objects they already
// restored or deleted are skipped). With force it undoes over later edits
// of the fields harden set (and removes what harden added that another
// manager took since). With watch it waits for the rollout the undo
// causes, reporting progress. It errs when there is no run to undo or a
// field harden set has changed since (without force).
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
	out := &Undone{Entry: entry}
	warned := false
	record := func() {
		if entry.ID == "" {
			return // an entry from before states were recorded
		}
		if err := e.Commit.Journal.Append(e.Commit.Cluster, w.Namespace(), w.Kind(), w.Name(), entry); err != nil && !warned {
			warned = true
			out.Warnings = append(out.Warnings, fmt.Sprintf("the local journal could not be written: %v", err))
		}
	}
	done, err := e.Applier.Undo(ctx, entry, force, record)
	if done != nil {
		out.Restored, out.Deleted, out.Kept, out.Whole, out.Left = names(done.Restored), names(done.Deleted), done.Kept, done.Whole, done.Left
		out.Warnings = append(out.Warnings, done.Warnings...)
	}
	rec := &apply.Entry{Time: time.Now().UTC().Truncate(time.Second), Action: "undo", Rules: entry.Rules, Objects: entry.Objects}
	if entry.ID != "" {
		rec.ID = entry.ID + "/undo"
	}
	if jerr := e.Commit.Journal.Append(e.Commit.Cluster, w.Namespace(), w.Kind(), w.Name(), rec); jerr != nil && !warned {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the local journal could not be written: %v", jerr))
	}
	if err != nil {
		return out, fmt.Errorf("undoing %s: %w", w.Ref(), err)
	}
	out.Notes = e.scaled(ctx, w, entry)
	if watch {
		for _, c := range entry.Objects {
			if obj := c.Object(); apply.Rolls(obj) && c.State == apply.StateRestored {
				if err := e.Applier.WaitRollout(ctx, obj, e.Commit.Timeout, progress, nil); err != nil {
					return out, err
				}
			}
		}
	}
	return out, nil
}

// names turns NS/KIND.GROUP/NAME into KIND.GROUP/NAME: undo names one
// workload's namespace once.
func names(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		if n := strings.Count(r, "/"); n >= 2 {
			r = r[strings.Index(r, "/")+1:]
		}
		out[i] = r
	}
	return out
}

// scaled says, when the run raised an HPA's minReplicas that undo put
// back, that the workload's replicas stay where the HPA scaled them.
func (e *Engine) scaled(ctx context.Context, w *inspect.Workload, entry *apply.Entry) []string {
	var notes []string
	for _, c := range entry.Objects {
		if c.Kind != "HorizontalPodAutoscaler" || c.State != apply.StateRestored {
			continue
		}
		hpa, err := e.Applier.Get(ctx, c.Object())
		if err != nil {
			continue
		}
		live, err := e.Read(ctx, w)
		if err != nil {
			continue
		}
		replicas, found, _ := unstructured.NestedInt64(live.Object.Object, "spec", "replicas")
		if !found {
			continue
		}
		min, ok, _ := unstructured.NestedInt64(hpa.Object, "spec", "minReplicas")
		minText := "its default"
		if ok {
			minText = fmt.Sprint(min)
		}
		notes = append(notes, fmt.Sprintf("%s keeps spec.replicas %d, where %s scaled it: undo put back the HPA's minReplicas (%s), not the replicas the HPA chose since, so the workload is not byte-equal to before", w.Ref(), replicas, c.Object().Ref(), minText))
	}
	return notes
}

// LastRun is the run to undo: the workload's annotation (with what the
// local journal recorded of the same run since), else the local
// journal's last harden run that left something to undo — a run whose
// rollback or undo could not finish included.
func (e *Engine) LastRun(w *inspect.Workload) (*apply.Entry, error) {
	entries, err := e.Commit.Journal.List(e.Commit.Cluster, w.Namespace(), w.Kind(), w.Name())
	if err != nil {
		return nil, err
	}
	entry, err := apply.FromAnnotation(w.Object)
	if err != nil {
		return nil, err
	}
	if entry != nil {
		for i := range entries {
			entry.Merge(&entries[i])
		}
		return entry, nil
	}
	for i := len(entries) - 1; i >= 0; i-- {
		x := &entries[i]
		if x.ID == "" {
			// Recorded before states were: the last run counts only while
			// the workload still holds what it set (otherwise it was
			// undone, perhaps from another machine, or overwritten).
			if i == len(entries)-1 && x.Action == "harden" && holds(w, x) {
				return x, nil
			}
			break
		}
		if x.Action != "harden" {
			continue // a rollback's or undo's own line; the run's entry holds the states
		}
		if x.Open() && (workloadState(w, x) != apply.StateWritten || holds(w, x)) {
			return x, nil
		}
		break
	}
	return nil, fmt.Errorf("%s in namespace %s has no kubectl harden run to undo", w.Ref(), w.Namespace())
}

// workloadState is the state the entry records for the workload itself.
func workloadState(w *inspect.Workload, entry *apply.Entry) string {
	for _, c := range entry.Objects {
		if !c.Created && c.Kind == w.Kind() && c.Name == w.Name() {
			return c.State
		}
	}
	return ""
}

// drift refuses to undo over changes made after harden: every field the run
// set must still hold the value it set.
func (e *Engine) drift(ctx context.Context, entry *apply.Entry) error {
	for _, c := range entry.Objects {
		// Only what is on the object as the run wrote it is checked: what
		// a rollback or an earlier undo already handled is skipped, and
		// a pending write is checked by the undo itself.
		if c.Created || len(c.Set) == 0 || c.Finished() || c.State == apply.StatePending || c.State == apply.StateFailed {
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
