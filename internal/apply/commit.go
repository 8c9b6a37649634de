package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// Commit is how a plan that passed its dry-run reaches the cluster, the
// same for the command line, the TUI and the audit: record the undo entry on
// the objects and in the local journal, write as one transaction, watch the
// rollout, and roll back when the new pods do not become ready.
type Commit struct {
	Journal Journal
	Cluster string // the API server, naming the journal's folder
	// Watch waits for the rollout of what rolls, up to Timeout.
	Watch   bool
	Timeout time.Duration
	// Progress receives each rollout status line; may be nil.
	Progress func(string)
}

// Outcome is what a commit did.
type Outcome struct {
	Entry *Entry
	// Rollout is "complete" when a rollout was watched to its end, "" when
	// nothing rolls (a Job, a CronJob, companions alone); for a
	// workload that does not roll out by itself it says why and what
	// happens instead, e.g. "paused — not watched; the change rolls out on
	// resume (kubectl rollout resume deployment/web -n shop)" or
	// "OnDelete — 3 pods (db-0, db-1, db-2) still run the old revision; …".
	// Callers print it as "rollout: …".
	Rollout string
	// Warnings are things the user should know that did not stop it.
	Warnings []string
}

// Commit applies p to the workload w. On a failed rollout the error says
// why, naming the failing pod, and what was rolled back.
func (a *Applier) Commit(ctx context.Context, p *plan.Plan, w *inspect.Workload, c Commit) (*Outcome, error) {
	out := &Outcome{Entry: NewEntry(p, time.Now())}
	if ctx.Err() != nil {
		return out, fmt.Errorf("%w before anything was written; nothing was changed", context.Cause(ctx))
	}
	if err := out.Entry.Annotate(p); err != nil {
		return out, err
	}
	// The journal first: the entry is on disk before the first write (and
	// on the workload with it), and recorded again after every write and
	// every rollback step.
	warned := false
	record := func() {
		if err := c.Journal.Append(c.Cluster, w.Namespace(), w.Kind(), w.Name(), out.Entry); err != nil && !warned {
			warned = true
			out.Warnings = append(out.Warnings, fmt.Sprintf("the local undo journal could not be written: %v (the workload carries its own undo record)", err))
		}
	}
	record()
	// The writes are one transaction: once begun, a cancel (ctrl+c, a
	// signal) does not cut it in half; it is rolled back below instead.
	written, err := a.applyRecorded(context.WithoutCancel(ctx), p, out.Entry, record)
	if err != nil {
		var tx *TxError
		if errors.As(err, &tx) && tx.Command == "" {
			tx.Workload = undoRef(w)
		}
		return out, err
	}
	if ctx.Err() != nil {
		return out, a.rollback(ctx, p, w, out.Entry, c, fmt.Errorf("stopped before watching the rollout: %w", context.Cause(ctx)), record)
	}
	var held []string
	watched := false
	for i, obj := range p.Objects {
		if !Rolls(obj) {
			continue
		}
		// A paused or OnDelete workload keeps the fix and its pods: there
		// is no rollout to wait for, and nothing to roll back. Read from
		// the write's answer, not asked again.
		// When it cannot be read, the watch reads it again and says why.
		note, err := a.heldLive(ctx, obj, written[i], c.Timeout)
		if err == nil && note != "" {
			held = append(held, note)
			continue
		}
		if !c.Watch {
			if err != nil {
				out.Warnings = append(out.Warnings, err.Error())
			}
			continue
		}
		if err := a.waitRollout(ctx, obj, c.Timeout, c.Progress, a.stuckPod); err != nil {
			return out, a.rollback(ctx, p, w, out.Entry, c, err, record)
		}
		watched = true
	}
	switch {
	case len(held) > 0:
		out.Rollout = strings.Join(held, "; ")
	case watched: // not for a Job or CronJob, nor for companions alone
		out.Rollout = "complete"
	}
	return out, nil
}

// rollback undoes a commit whose rollout failed — the workload first,
// writing back only what harden changed and nobody changed since, the
// companions last — waits for the old pods, and returns an error saying
// why and exactly what is as before and what is not.
func (a *Applier) rollback(ctx context.Context, p *plan.Plan, w *inspect.Workload, entry *Entry, c Commit, cause error, record func()) error {
	// The rollout may have failed because ctx ended; the rollback still runs.
	ctx = context.WithoutCancel(ctx)
	// The revision the failed pods were made from, read before the
	// template is restored: a StatefulSet leaves them stuck.
	failed := map[string]string{}
	for _, ch := range entry.Objects {
		if obj := ch.Object(); Rolls(obj) {
			failed[obj.Ref()] = a.failedRevision(ctx, obj)
		}
	}
	done, err := a.Undo(ctx, entry, false, record)
	rb := &Entry{ID: entry.ID + "/rollback", Time: time.Now().UTC().Truncate(time.Second), Action: "rollback", Rules: entry.Rules, Objects: entry.Objects}
	_ = c.Journal.Append(c.Cluster, w.Namespace(), w.Kind(), w.Name(), rb)
	if err != nil {
		return fmt.Errorf("%v; rolling back failed too (%s): run kubectl harden undo %s once the cluster answers", cause, Brief(err), undoRef(w))
	}
	rolled := &RolledBackError{Cause: cause, Workload: w.Ref(), Namespace: w.Namespace(), Whole: done.Whole, Left: done.Left}
	// The old pods come back within their own bound, not a second
	// --timeout; a StatefulSet's stuck pods are replaced first.
	wait := RollbackWait(c.Timeout)
	deadline := time.Now().Add(wait)
	for _, ch := range entry.Objects {
		obj := ch.Object()
		if !Rolls(obj) {
			continue
		}
		if rev := failed[obj.Ref()]; rev != "" {
			r := a.replaceStuck(ctx, obj, rev, deadline)
			rolled.Replaced = append(rolled.Replaced, r.Deleted...)
			rolled.Pending = append(rolled.Pending, r.Left...)
			if len(r.Left) > 0 {
				continue // not coming back by itself: no wait
			}
		}
		if err := a.WaitRollout(ctx, obj, max(time.Until(deadline), time.Second), rollbackProgress(c.Progress), nil); err != nil {
			rolled.Pending = append(rolled.Pending, notBack(obj, wait, err))
		}
	}
	// What is not as before: compared with the object read before the
	// run, whoever changed it (harden's own fields are back by now).
	for _, o := range p.Objects {
		if o.Create || o.Before == nil {
			continue
		}
		live, err := a.Get(ctx, o)
		if err != nil {
			rolled.Except = append(rolled.Except, fmt.Sprintf("%s (could not be read again: %s)", o.Ref(), oneLine(err.Error())))
			continue
		}
		diffs, err := differences(o.Before, live, a.FieldManager)
		if err != nil {
			rolled.Except = done.Kept
			break
		}
		for _, d := range diffs {
			rolled.Except = append(rolled.Except, describeOn(o, d))
		}
	}
	return rolled
}

// MaxRollbackWait bounds how long a rollback waits for the old pods to be
// ready again. They ran minutes ago: their ReplicaSet is kept and their
// images are on the nodes, so they need no pull and no new scheduling
// decisions beyond the first rollout's. Two minutes is the bound chosen
// here (it is not a Kubernetes default); a failed run then ends within
// --timeout plus two minutes, not twice --timeout.
const MaxRollbackWait = 2 * time.Minute

// RollbackWait is how long a rollback waits for the old pods:
// min(timeout, MaxRollbackWait).
func RollbackWait(timeout time.Duration) time.Duration { return min(timeout, MaxRollbackWait) }

// notBack says that the pods of obj did not come back on the previous
// revision within wait, what the rollout waited for, and how to follow it.
func notBack(obj *plan.Object, wait time.Duration, err error) string {
	return fmt.Sprintf("the pods of %s are not back within %s (%s); follow with kubectl rollout status %s -n %s",
		obj.Ref(), wait, rolloutDetail(err), obj.Ref(), obj.Namespace)
}

// rolloutDetail is the end of a watch's error: what the rollout waited
// for, without the "rollout of X did not complete within D:" its caller
// already says.
func rolloutDetail(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "rollout of ") && i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// undoRef is how the undo command names a workload: deployment/web -n shop.
func undoRef(w *inspect.Workload) string { return w.Ref() + " -n " + w.Namespace() }

// RolledBackError is a failed rollout that was rolled back.
type RolledBackError struct {
	Cause     error
	Workload  string
	Namespace string
	// Except are the fields not as before: changed by another manager
	// during the run, left with it (`.spec.replicas (4, set by
	// kubectl-scale during the run)`).
	Except []string
	// Whole are the objects put back as a whole over another manager's
	// change inside them; Left the companions not deleted and why.
	Whole, Left []string
	// Replaced are the pods of a StatefulSet deleted because they were
	// stuck on the failed revision (a forced rollback).
	Replaced []string
	// Pending says what is not back on the previous revision, one line
	// each with the command to finish or check it; while any is, the
	// workload is not said to be as it was before.
	Pending []string
}

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("%v; rolled back: %s", e.Cause, e.State())
}

// State says exactly what is as before and what is not, e.g.
// "deployment.apps/web -n shop is as before except .spec.replicas (4, set
// by kubectl-scale during the run)".
func (e *RolledBackError) State() string {
	w := e.Workload
	if e.Namespace != "" {
		w += " -n " + e.Namespace
	}
	var s string
	switch {
	case len(e.Except) > 0 && len(e.Pending) > 0:
		s = w + " is as before except " + strings.Join(e.Except, ", ") + ", and its pods are not back: " + strings.Join(e.Pending, "; ")
	case len(e.Except) > 0:
		s = w + " is as before except " + strings.Join(e.Except, ", ")
	case len(e.Pending) > 0:
		s = w + " has its spec back, but its pods are not: " + strings.Join(e.Pending, "; ")
	default:
		s = w + " is as it was before"
	}
	if note := replacedNote(e.Replaced); note != "" {
		s += "; " + note
	}
	if len(e.Whole) > 0 {
		s += "; " + strings.Join(e.Whole, "; ")
	}
	if len(e.Left) > 0 {
		s += "; not deleted: " + strings.Join(e.Left, ", ")
	}
	return s
}

func (e *RolledBackError) Unwrap() error { return e.Cause }

// rollbackProgress prefixes the status lines of a rollback's rollout with
// "rollback: ", so that "successfully rolled out" there is not read as the
// fix's own rollout; nil stays nil.
func rollbackProgress(progress func(string)) func(string) {
	if progress == nil {
		return nil
	}
	return func(msg string) { progress("rollback: " + msg) }
}
