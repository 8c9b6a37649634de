package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

func testWorkload(t *testing.T) *inspect.Workload {
	t.Helper()
	w, err := inspect.NewWorkload(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The first SIGINT cancels the context with ErrInterrupted; the second
// prints the exact undo command of the workload being written and exits
// 130 at once — or says nothing was changed when nothing was written.
func TestInterruptsTwice(t *testing.T) {
	for _, tc := range []struct {
		writes int
		want   string
	}{
		{0, "interrupted again: stopped at once; nothing was changed\n"},
		{1, "interrupted again: stopped at once; deployment/web -n shop may be left part-way: run kubectl harden undo deployment/web -n shop\n"},
	} {
		var errOut bytes.Buffer
		ctx, in, stop := notifyInterrupts(context.Background(), &errOut)
		exited := make(chan int, 1)
		in.exit = func(code int) { exited <- code }
		done := in.writing(testWorkload(t))
		in.mu.Lock()
		in.writes = tc.writes
		in.mu.Unlock()

		if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the first SIGINT did not cancel the context")
		}
		if !errors.Is(context.Cause(ctx), ErrInterrupted) || !in.interrupted() {
			t.Errorf("cause %v", context.Cause(ctx))
		}
		if errOut.Len() != 0 {
			t.Errorf("the first signal printed %q", errOut.String())
		}
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-exited:
			if code != 130 || errOut.String() != tc.want {
				t.Errorf("second signal: exit %d, %q; want 130, %q", code, errOut.String(), tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the second signal did not exit")
		}
		done()
		stop()
	}
}

// The one line says what the objects are left as.
func TestInterruptedState(t *testing.T) {
	p := &plan.Plan{Objects: []*plan.Object{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		{APIVersion: "policy/v1", Kind: "PodDisruptionBudget", Namespace: "shop", Name: "web", Create: true},
	}}
	rolled := &apply.RolledBackError{Cause: fmt.Errorf("stopped watching the rollout of deployment.apps/web: %w", ErrInterrupted), Workload: "deployment.apps/web"}
	for _, tc := range []struct {
		applied, wrote bool
		err            error
		want           string
	}{
		{false, true, rolled, "deployment/web -n shop rolled back, as it was before; poddisruptionbudget.policy/web deleted"},
		{false, true, &apply.RolledBackError{Cause: rolled.Cause, Workload: "statefulset.apps/db", Namespace: "shop",
			Pending: []string{"pod db-0 not back within 1m0s; follow with kubectl rollout status statefulset/db -n shop"}},
			"deployment/web -n shop rolled back: statefulset.apps/db -n shop has its spec back, but its pods are not: pod db-0 not back within 1m0s; follow with kubectl rollout status statefulset/db -n shop; poddisruptionbudget.policy/web deleted"},
		{false, false, fmt.Errorf("%w before anything was written; nothing was changed", ErrInterrupted), "nothing was changed"},
		{false, false, context.Canceled, "nothing was changed"},
		{true, true, nil, "deployment/web -n shop is hardened (the rollout had completed); kubectl harden undo deployment/web -n shop restores it"},
		{false, true, errors.New("x; rolling back failed too"), "deployment/web -n shop may be left part-way; run kubectl harden undo deployment/web -n shop once the cluster answers"},
		{false, true, &apply.TxError{Failed: "x", Err: errors.New("boom")}, "nothing was changed"},
	} {
		if got := interruptedState("deployment/web -n shop", p, tc.applied, tc.wrote, tc.err); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}
