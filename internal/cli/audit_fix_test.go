package cli

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
)

// What a parallel run a signal stopped may have written is read from its
// own undo entry, not from the command's one write counter, which every
// run shares.
func TestWroteAny(t *testing.T) {
	entry := func(states ...string) *engine.Result {
		e := &apply.Entry{}
		for _, s := range states {
			e.Objects = append(e.Objects, apply.Change{State: s})
		}
		return &engine.Result{Entry: e}
	}
	for _, tc := range []struct {
		name string
		res  *engine.Result
		err  error
		want bool
	}{
		{"no commit began", &engine.Result{}, errors.New("interrupted"), false},
		{"stopped before the first write", entry(apply.StatePending, apply.StatePending), errors.New("interrupted before anything was written"), false},
		{"a write made", entry(apply.StateWritten, apply.StatePending), nil, true},
		{"rolled back", entry(apply.StateRestored, apply.StateDeleted), nil, true},
		{"a write without an answer", entry(apply.StatePending), &apply.TxError{Err: errors.New("EOF")}, true},
	} {
		if got := wroteAny(tc.res, tc.err); got != tc.want {
			t.Errorf("%s: wroteAny = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// --parallel: 1 to 32 are taken, 0 is the default, others are refused.
func TestAuditValidateParallel(t *testing.T) {
	for _, tc := range []struct {
		parallel int
		ok       bool
		want     int
	}{{1, true, 1}, {16, true, 16}, {32, true, 32}, {0, true, engine.DefaultParallel}, {-1, false, 0}, {33, false, 0}} {
		o := &AuditOptions{Kinds: []string{"Deployment"}, ChunkSize: 500, MinScore: -1, DryRun: "none",
			FieldManager: "kubectl-harden", Timeout: time.Minute, Color: "auto", Fix: []string{"pdb"}, Parallel: tc.parallel}
		var err error
		if o.selection, err = parseSelection(o.Fix, nil, nil); err == nil {
			err = o.Validate()
		}
		if (err == nil) != tc.ok {
			t.Errorf("--parallel %d: error %v", tc.parallel, err)
			continue
		}
		if got := (&fixRun{o: o}).parallelism(); tc.ok && got != tc.want {
			t.Errorf("--parallel %d: %d at once, want %d", tc.parallel, got, tc.want)
		}
	}
}

// The scheduler's slots: a workload a PodDisruptionBudget selects is
// covered, with that budget's disruptionsAllowed; one in no budget is
// not; a Deployment and a StatefulSet of one name share a key (their
// companions would share a name), and so does a Deployment web-pdb (the
// StatefulSet's budget would be web-pdb); each weighs the pods its
// rollout may take down; a namespace whose budgets cannot be read counts
// as covered, allowing none.
func TestFixSlots(t *testing.T) {
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 2}}
	client := fake.NewClientset(pdb)
	client.PrependReactor("list", "poddisruptionbudgets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "locked" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}, "", errors.New("no"))
		}
		return false, nil, nil
	})
	workload := func(kind, ns, name string) *inspect.Workload {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}}}}}}
		w, err := inspect.NewWorkload(u)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	todo := []*inspect.Workload{workload("Deployment", "shop", "web"), workload("StatefulSet", "shop", "web"),
		workload("Deployment", "shop", "api"), workload("Deployment", "locked", "job"), workload("Deployment", "shop", "web-pdb")}
	var errOut strings.Builder
	r := &fixRun{o: &AuditOptions{session: &session{reader: &inspect.Reader{Client: client}}}, bar: newProgress(&errOut, len(todo), report.Styles{})}
	slots := r.slots(context.Background(), todo)
	want := []engine.Slot{{Key: "shop/web", Namespace: "shop", Covered: true, Weight: 1}, {Key: "shop/web", Namespace: "shop", Covered: true, Weight: 1},
		{Key: "shop/api", Namespace: "shop", Weight: 1}, {Key: "locked/job", Namespace: "locked", Covered: true, Weight: 1},
		{Key: "shop/web", Namespace: "shop", Weight: 1}}
	if !slices.Equal(slots, want) {
		t.Errorf("slots %+v, want %+v", slots, want)
	}
	if r.allowed[0] != 2 || r.allowed[3] != 0 {
		t.Errorf("allowed %v, want 2 for web, 0 for the unreadable namespace", r.allowed)
	}
	if !strings.Contains(errOut.String(), "PodDisruptionBudgets of namespace locked could not be read") {
		t.Errorf("no warning for the unreadable namespace: %q", errOut.String())
	}
}

// The client's rate limit grows with the runs audit --fix --yes makes at
// once, and stays at 50/300 for everything else.
func TestClientRateFollowsRuns(t *testing.T) {
	for _, c := range []struct {
		o     AuditOptions
		runs  int
		qps   float32
		burst int
	}{
		{AuditOptions{}, 1, 50, 300},
		{AuditOptions{Fix: []string{"pdb"}}, 1, 50, 300},                                  // a preview
		{AuditOptions{Fix: []string{"pdb"}, Yes: true}, engine.DefaultParallel, 225, 450}, // the default, 8
		{AuditOptions{Fix: []string{"pdb"}, Yes: true, Parallel: 1}, 1, 50, 300},
		{AuditOptions{Fix: []string{"pdb"}, Yes: true, Parallel: 32}, 32, 825, 1650},
	} {
		runs := c.o.fixRuns()
		qps, burst := clientRate(runs)
		if runs != c.runs || qps != c.qps || burst != c.burst {
			t.Errorf("--fix=%v --yes=%v --parallel=%d: runs %d, rate %v/%d; want %d, %v/%d", c.o.Fix, c.o.Yes, c.o.Parallel, runs, qps, burst, c.runs, c.qps, c.burst)
		}
	}
}
