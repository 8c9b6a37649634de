package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// Failing names a pod of a rollout that will not become ready on its own
// (a crash loop, a config error…) and why, or returns "". live is the
// workload as the watch last saw it; pods are the pods its selector
// matches, as the watch sees them.
type Failing func(live *unstructured.Unstructured, pods []corev1.Pod) string

// retryEvery is the first wait before a list or watch the API server did
// not answer is made again; the wait doubles up to maxRetryEvery.
var retryEvery, maxRetryEvery = 500 * time.Millisecond, 5 * time.Second

// waitRollout is WaitRollout for an object known to roll out by itself.
//
// It watches the object as kubectl rollout status does: a list and a watch
// selecting metadata.name=NAME (watchtools.UntilWithSync), each event told
// by the status viewer. With failing, the pods the object's selector
// matches are listed once and watched too, and failing is asked at each
// change of them. Nothing is read between events.
//
// Only the rollout's own signals fail it: the progress deadline exceeded,
// a pod failing names, the timeout. A list or watch the API server does
// not answer (connection refused or reset, a timeout, 429 throttling, a
// 5xx — an API server restarting, say) is made again with backoff, from
// 500ms doubling up to 5s, until the timeout; one it refuses (403, 404)
// ends the watch.
func (a *Applier) waitRollout(ctx context.Context, o *plan.Object, timeout time.Duration, progress func(string), failing Failing) error {
	r, err := a.resource(o)
	if err != nil {
		return err
	}
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return err
	}
	gk := gv.WithKind(o.Kind).GroupKind()
	m, err := a.Mapper.RESTMapping(gk, gv.Version)
	if err != nil {
		return err
	}
	viewer, err := a.viewer(gk)
	if err != nil {
		return fmt.Errorf("cannot watch the rollout of %s: %s", o.Ref(), oneLine(err.Error()))
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := &rolloutWatch{a: a, o: o, gr: m.Resource.GroupResource(), r: r, viewer: viewer, progress: progress, failing: failing}
	var unanswered error // the last list or watch the API server did not answer, nil once one is
	delay, next := retryEvery, retryEvery
	for {
		done, answered, err := w.once(tctx)
		if answered {
			unanswered, delay, next = nil, retryEvery, retryEvery
		}
		var signal rolloutSignal
		var quiet *unansweredError
		switch {
		case err == nil && done:
			return nil
		case tctx.Err() != nil:
			// A request cut short by the deadline or a cancel fails inside
			// client-go's rate limiter; what ended is the context.
		case errors.As(err, &signal):
			return fmt.Errorf("rollout of %s failed: %s", o.Ref(), oneLine(signal.Error()))
		case errors.As(err, &quiet):
			unanswered, delay, next = quiet.err, next, min(next*2, maxRetryEvery)
		default:
			return fmt.Errorf("rollout of %s: %s", o.Ref(), Brief(err))
		}
		if tctx.Err() == nil {
			t := time.NewTimer(delay)
			select {
			case <-tctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		if tctx.Err() == nil {
			continue
		}
		return w.ended(ctx, timeout, unanswered)
	}
}

// rolloutWatch is one rollout being watched: the workload and, when
// failing is set, its pods.
type rolloutWatch struct {
	a        *Applier
	o        *plan.Object
	gr       schema.GroupResource
	r        dynamic.ResourceInterface
	viewer   polymorphichelpers.StatusViewer
	progress func(string)
	failing  Failing

	last string // the last status line, for the timeout's message

	mu   sync.Mutex
	live *unstructured.Unstructured // the workload as last seen
}

// unansweredError is a list or watch the API server did not answer
// (Transient): the watch is made again after a backoff.
type unansweredError struct{ err error }

func (e *unansweredError) Error() string { return e.err.Error() }
func (e *unansweredError) Unwrap() error { return e.err }

// rolloutSignal is the rollout's own word that it failed.
type rolloutSignal struct{ error }

// ended is the error of a watch whose context ended: the caller's (ctrl+c,
// a signal) or the timeout, saying what the rollout waited for or, when
// the API server did not answer, that.
func (w *rolloutWatch) ended(ctx context.Context, timeout time.Duration, unanswered error) error {
	ref := w.o.Ref()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("stopped watching the rollout of %s: %w", ref, context.Cause(ctx))
	case unanswered != nil:
		return fmt.Errorf("rollout of %s did not complete within %s: %s", ref, timeout, Brief(unanswered))
	}
	status := strings.TrimSpace(w.last)
	if status == "" {
		return fmt.Errorf("rollout of %s did not complete within %s", ref, timeout)
	}
	return fmt.Errorf("rollout of %s did not complete within %s: %s", ref, timeout, oneLine(status))
}

// once watches until the rollout is done, fails, the context ends or a
// list or watch is not answered (an *unansweredError). answered says
// whether a list or watch was: the API server is back.
func (w *rolloutWatch) once(ctx context.Context) (done, answered bool, err error) {
	actx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var ok atomic.Bool
	var pods sync.WaitGroup
	started := false
	name := fields.OneTermEqualSelector("metadata.name", w.o.Name).String()
	lw := guarded(actx, stop, &ok, w.a.Client, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		opts.FieldSelector = name
		return w.r.List(ctx, opts)
	}, func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		opts.FieldSelector = name
		return w.r.Watch(ctx, opts)
	})
	_, err = watchtools.UntilWithSync(actx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		obj, isObj := e.Object.(*unstructured.Unstructured)
		if !isObj || obj.GetName() != w.o.Name {
			return false, nil
		}
		if e.Type == watch.Deleted {
			// As kubectl rollout status: not a new object of the same name.
			return false, apierrors.NewNotFound(w.gr, w.o.Name)
		}
		w.see(obj)
		msg, done, err := w.viewer.Status(obj, 0)
		if err != nil {
			return false, rolloutSignal{err} // e.g. progress deadline exceeded
		}
		if msg != w.last && w.progress != nil {
			w.progress(msg)
		}
		w.last = msg
		if !done && w.failing != nil && !started {
			started = true
			pods.Go(func() { w.watchPods(actx, stop, &ok, obj) })
		}
		return done, nil
	})
	stop(err)
	pods.Wait()
	answered = ok.Load()
	switch cause := context.Cause(actx); {
	case err == nil:
		return true, answered, nil
	case ctx.Err() != nil:
		return false, answered, ctx.Err()
	case cause != nil && !errors.Is(cause, err):
		// A pod failing, a list or watch not answered or refused.
		return false, answered, cause
	}
	return false, answered, err
}

// watchPods follows the pods live's selector matches until ctx ends, and
// stops the watch with failing's word when it names one.
func (w *rolloutWatch) watchPods(ctx context.Context, stop context.CancelCauseFunc, ok *atomic.Bool, live *unstructured.Unstructured) {
	wl, err := inspect.NewWorkload(live)
	if err != nil {
		stop(err)
		return
	}
	sel, err := wl.Selector()
	if err != nil {
		stop(err)
		return
	}
	if sel == nil {
		return // no pods to follow
	}
	pods := w.a.pods()
	lw := guarded(ctx, stop, ok, pods, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		opts.LabelSelector = sel.String()
		return pods.List(ctx, w.o.Namespace, opts)
	}, func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		opts.LabelSelector = sel.String()
		return pods.Watch(ctx, w.o.Namespace, opts)
	})
	var store cache.Store
	check := func() (bool, error) {
		list, err := podsIn(store, sel)
		if err != nil {
			return false, err
		}
		if why := w.failing(w.seen(), list); why != "" {
			return true, rolloutSignal{errors.New(why)}
		}
		return false, nil
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{},
		func(s cache.Store) (bool, error) { store = s; return check() },
		func(watch.Event) (bool, error) { return check() })
	if err != nil && ctx.Err() == nil {
		stop(err)
	}
}

// podsIn is the pods of store that sel matches, typed.
func podsIn(store cache.Store, sel labels.Selector) ([]corev1.Pod, error) {
	var items []unstructured.Unstructured
	for _, obj := range store.List() {
		if u, ok := obj.(*unstructured.Unstructured); ok && sel.Matches(labels.Set(u.GetLabels())) {
			items = append(items, *u)
		}
	}
	return typedPods(items)
}

func (w *rolloutWatch) see(obj *unstructured.Unstructured) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live = obj
}

func (w *rolloutWatch) seen() *unstructured.Unstructured {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.live
}

// guarded is a ListerWatcher over list and watch that ends the watch
// (stop) at the first error, as an *unansweredError when the API server
// did not answer: a reflector would retry on its own, for ever, without
// saying why. ok is set once a list or watch is answered. client tells
// the reflector whether it may stream the initial list (see
// cache.ToListWatcherWithWatchListSemantics).
func guarded(ctx context.Context, stop context.CancelCauseFunc, ok *atomic.Bool, client any, list cache.ListWithContextFunc, watchFn cache.WatchFuncWithContext) cache.ListerWatcher {
	fail := func(err error) {
		switch {
		case err == nil, ctx.Err() != nil:
		case Transient(err):
			stop(&unansweredError{err})
		default:
			stop(err)
		}
	}
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			obj, err := list(ctx, opts)
			if err == nil {
				ok.Store(true)
			}
			fail(err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			wi, err := watchFn(ctx, opts)
			if err == nil {
				ok.Store(true) // a streamed list (WatchList) is a watch only
			}
			fail(err)
			return wi, err
		},
	}, client)
}

// stuckPod is the Failing of a rollout harden started: a pod created since
// harden's apply — by the API server's own clock, the time it recorded for
// harden's field manager on live — stuck in a state it will not leave
// alone (inspect.StuckPod), so a broken rollout is rolled back at once
// rather than at the timeout.
func (a *Applier) stuckPod(live *unstructured.Unstructured, pods []corev1.Pod) string {
	if live == nil {
		return ""
	}
	var since time.Time
	for _, m := range live.GetManagedFields() {
		if m.Manager == a.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply && m.Time != nil {
			since = m.Time.Time.Add(-time.Second)
		}
	}
	if since.IsZero() {
		return ""
	}
	return inspect.StuckPod(pods, since)
}
