package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// Rolls reports whether changing this object rolls out new pods worth
// watching: a live object of a kind inspect.KindTable puts in RolledOut
// (not a Job or CronJob, nor a companion).
func Rolls(o *plan.Object) bool {
	return !o.Create && inspect.IsA(o.Kind, inspect.RolledOut)
}

// WaitRollout waits, watching the object as kubectl rollout status does
// and with its status viewers (Applier.StatusViewer), until the object's
// rollout completes, the progress deadline is exceeded, the timeout
// passes, or failing reports a pod that will not recover (its pods are
// watched only with a failing; see waitRollout). A live
// object that does not roll out by itself (a paused Deployment, an OnDelete
// StatefulSet or DaemonSet) is not waited for: progress gets Held's note
// and WaitRollout returns nil. progress receives each new status line. The
// error is one line naming the object.
func (a *Applier) WaitRollout(ctx context.Context, o *plan.Object, timeout time.Duration, progress func(string), failing Failing) error {
	note, err := a.Held(ctx, o, timeout)
	if err != nil && !Transient(err) {
		return err
	}
	// Unanswered, it is watched: the watch retries, and says why at the
	// timeout.
	if note != "" {
		if progress != nil {
			progress("rollout: " + note)
		}
		return nil
	}
	return a.waitRollout(ctx, o, timeout, progress, failing)
}

// readError is a read of the object that failed, told in a few words.
type readError struct {
	ref string
	err error
}

func (e *readError) Error() string { return "reading " + e.ref + ": " + Brief(e.err) }
func (e *readError) Unwrap() error { return e.err }

// Transient reports whether err is the API server not answering for a
// moment — a connection refused or reset, a timeout, throttling (429), a
// 5xx — rather than an answer: worth retrying.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return true
	case utilnet.IsConnectionRefused(err), utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

// Brief says in a few words why a request failed, without client-go's
// wording (URLs, rate limiter, Go types): what users read in one line.
func Brief(err error) string {
	var status apierrors.APIStatus
	switch {
	case err == nil:
		return ""
	case utilnet.IsConnectionRefused(err), errors.Is(err, syscall.ECONNREFUSED):
		return "the API server refused the connection"
	case utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "the API server closed the connection"
	case apierrors.IsTooManyRequests(err):
		return "the API server is throttling requests (429 Too Many Requests)"
	case errors.As(err, &status) && status.Status().Code >= 500:
		return fmt.Sprintf("the API server answered %d %s", status.Status().Code, http.StatusText(int(status.Status().Code)))
	case Transient(err), errors.Is(err, context.DeadlineExceeded):
		return "the API server did not answer in time"
	case errors.As(err, &status) && status.Status().Message != "":
		return oneLine(status.Status().Message)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return oneLine(uerr.Err.Error())
	}
	return oneLine(err.Error())
}

// Held says, as one line for "rollout: …", why the live object does not
// roll out a template change by itself and what happens instead; "" when
// it does, or for kinds that do not roll. For a paused Deployment:
//
//	paused — not watched; the change rolls out on resume (kubectl rollout resume deployment/web -n shop)
//
// For an OnDelete StatefulSet or DaemonSet it waits (up to timeout, at most
// 30s) for the controller to see the new spec and names the pods still on
// the old revision:
//
//	OnDelete — 3 pods (db-0, db-1, db-2) still run the old revision; they take the change when deleted, one at a time: kubectl delete pod db-0 -n shop
func (a *Applier) Held(ctx context.Context, o *plan.Object, timeout time.Duration) (string, error) {
	return a.heldLive(ctx, o, nil, timeout)
}

// heldLive is Held judging live, the object as the API server just
// returned it (a write's answer), or reading it first when live is nil.
func (a *Applier) heldLive(ctx context.Context, o *plan.Object, live *unstructured.Unstructured, timeout time.Duration) (string, error) {
	if !Rolls(o) {
		return "", nil
	}
	if live == nil {
		var err error
		if live, err = a.Get(ctx, o); err != nil {
			return "", &readError{ref: o.Ref(), err: err}
		}
	}
	w, err := inspect.NewWorkload(live)
	if err != nil {
		return "", err
	}
	switch w.RolloutHold() {
	case inspect.RolloutPaused:
		return fmt.Sprintf("paused — not watched; the change rolls out on resume (kubectl rollout resume %s -n %s)", w.Ref(), w.Namespace()), nil
	case inspect.RolloutOnDelete:
		old, err := a.oldRevisionPods(ctx, o, min(timeout, 30*time.Second))
		if err != nil {
			return "OnDelete — not watched; pods take the change when deleted (" + oneLine(err.Error()) + ")", nil
		}
		return onDeleteNote(old, w.Namespace()), nil
	}
	return "", nil
}

// onDeleteNote says which pods still run the old revision of an OnDelete
// workload, naming at most five.
func onDeleteNote(old []string, namespace string) string {
	if len(old) == 0 {
		return "OnDelete — not watched; every pod already runs the current revision"
	}
	names := strings.Join(old, ", ")
	if len(old) > 5 {
		names = fmt.Sprintf("%s and %d more", strings.Join(old[:5], ", "), len(old)-5)
	}
	if len(old) == 1 {
		return fmt.Sprintf("OnDelete — 1 pod (%s) still runs the old revision; it takes the change when deleted: kubectl delete pod %s -n %s",
			names, old[0], namespace)
	}
	return fmt.Sprintf("OnDelete — %d pods (%s) still run the old revision; they take the change when deleted, one at a time: kubectl delete pod %s -n %s",
		len(old), names, old[0], namespace)
}

// oldRevisionPods waits until the controller has observed the object's
// current generation, then returns the names, sorted, of the pods it
// controls whose controller-revision-hash label is not the update
// revision: status.updateRevision for a StatefulSet, the hash of the
// newest ControllerRevision for a DaemonSet.
func (a *Applier) oldRevisionPods(ctx context.Context, o *plan.Object, within time.Duration) ([]string, error) {
	live, err := a.observed(ctx, o, within)
	if err != nil {
		return nil, err
	}
	w, err := inspect.NewWorkload(live)
	if err != nil {
		return nil, err
	}
	sel, err := w.Selector()
	if err != nil {
		return nil, err
	}
	var revision string
	switch {
	case w.StatefulSet != nil:
		revision = w.StatefulSet.Status.UpdateRevision
	case w.DaemonSet != nil:
		if revision, err = a.newestRevisionHash(ctx, live, sel.String()); err != nil {
			return nil, err
		}
	}
	if revision == "" {
		return nil, fmt.Errorf("%s reports no update revision yet", o.Ref())
	}
	list, err := a.pods().List(ctx, o.Namespace, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var old []string
	for _, p := range list.Items {
		if p.GetDeletionTimestamp() != nil || !controlledBy(&p, live) {
			continue
		}
		if p.GetLabels()[appsv1.ControllerRevisionHashLabelKey] != revision {
			old = append(old, p.GetName())
		}
	}
	sort.Strings(old)
	return old, nil
}

// observed reads the object until status.observedGeneration has caught up
// with metadata.generation, for at most wait.
func (a *Applier) observed(ctx context.Context, o *plan.Object, within time.Duration) (*unstructured.Unstructured, error) {
	var live *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		var err error
		if live, err = a.Get(ctx, o); err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, err
		}
		seen, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
		return seen >= live.GetGeneration(), nil
	})
	if err != nil {
		if wait.Interrupted(err) {
			return nil, fmt.Errorf("the controller has not seen the change of %s yet", o.Ref())
		}
		return nil, err
	}
	return live, nil
}

// newestRevisionHash is the controller-revision-hash of the DaemonSet's
// ControllerRevision with the highest revision number: the template its
// new pods are made from.
func (a *Applier) newestRevisionHash(ctx context.Context, ds *unstructured.Unstructured, selector string) (string, error) {
	// The controller labels its revisions with the pod template's labels,
	// which the selector matches.
	list, err := a.Client.Resource(appsv1.SchemeGroupVersion.WithResource("controllerrevisions")).Namespace(ds.GetNamespace()).
		List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", err
	}
	var newest *appsv1.ControllerRevision
	for i := range list.Items {
		if !controlledBy(&list.Items[i], ds) {
			continue
		}
		var cr appsv1.ControllerRevision
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &cr); err != nil {
			return "", err
		}
		if newest == nil || cr.Revision > newest.Revision {
			newest = &cr
		}
	}
	if newest == nil {
		return "", nil
	}
	return newest.Labels[appsv1.ControllerRevisionHashLabelKey], nil
}

// controlledBy reports whether owner is obj's controller.
func controlledBy(obj, owner *unstructured.Unstructured) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller && ref.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

// oneLine folds a multi-line message, such as a status viewer's, into one.
func oneLine(s string) string {
	lines := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '\n' || r == '\r' })
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l) // no "; ;" for a blank line
		}
	}
	return strings.Join(out, "; ")
}
