package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

var (
	deployments = appsv1.SchemeGroupVersion.WithResource("deployments")
	pdbs        = schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}
)

// web is a rolled-out Deployment shop/web of two replicas, created (as
// `kubectl apply` would) by another field manager.
func web() *appsv1.Deployment {
	two := int32(2)
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "web:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}}
}

// probeAndPDB plans, from the live web, what the readiness-probe and pdb
// fixes would: a tcpSocket probe on port http, and a PodDisruptionBudget
// harden creates.
func probeAndPDB(t *testing.T, f *fakeAPI) (*plan.Plan, *inspect.Workload) {
	t.Helper()
	live, err := f.Resource(deployments).Namespace("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := inspect.NewWorkload(live)
	if err != nil {
		t.Fatal(err)
	}
	probe := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "readinessProbe": map[string]any{"tcpSocket": map[string]any{"port": "http"}, "periodSeconds": int64(5)}},
		}}}}}
	pdb := map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "labels": map[string]any{ManagedByLabel: "kubectl-harden"}},
		"spec":     map[string]any{"maxUnavailable": int64(1), "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}}}
	results := []rules.Result{
		{Finding: rules.Finding{Rule: "readiness-probe"}, Status: rules.StatusPlanned, Fix: &rules.Fix{Changes: []rules.Change{{Object: probe}}}},
		{Finding: rules.Finding{Rule: "pdb"}, Status: rules.StatusPlanned, Fix: &rules.Fix{Changes: []rules.Change{{Object: pdb, Create: true}}}},
	}
	p, err := plan.Build(&inspect.Snapshot{Workload: w}, results, "kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != 2 {
		t.Fatalf("plan of %d objects", len(p.Objects))
	}
	return p, w
}

// spec reads the live spec of shop/web as JSON.
func spec(t *testing.T, f *fakeAPI) string {
	t.Helper()
	live, err := f.Resource(deployments).Namespace("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(live.Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pdbExists(t *testing.T, f *fakeAPI) bool {
	t.Helper()
	_, err := f.Resource(pdbs).Namespace("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func states(e *Entry) []string {
	var out []string
	for _, c := range e.Objects {
		out = append(out, c.State)
	}
	return out
}

// writes counts the writes (patch, create, delete) sent that were not
// dry-runs.
func writes(f *fakeAPI) int {
	n := 0
	for _, a := range f.Actions() {
		switch a := a.(type) {
		case k8stesting.PatchActionImpl:
			if len(a.PatchOptions.DryRun) == 0 {
				n++
			}
		case k8stesting.CreateActionImpl, k8stesting.DeleteActionImpl:
			n++
		}
	}
	return n
}

// Apply writes the workload, then the companion, recording each; Undo
// puts the spec back byte for byte, deletes the companion and drops the
// undo record from the workload.
func TestApplyThenUndo(t *testing.T) {
	f := newFakeAPI(t, web())
	a := f.applier()
	before := spec(t, f)
	p, _ := probeAndPDB(t, f)
	if _, err := a.DryRun(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if spec(t, f) != before || pdbExists(t, f) {
		t.Fatal("the dry-run wrote")
	}
	if probe, _, _ := unstructured.NestedSlice(p.Objects[0].After, "spec", "template", "spec", "containers"); !strings.Contains(toJSON(t, probe), `"readinessProbe"`) {
		t.Errorf("the dry-run's After lacks the probe: %s", toJSON(t, probe))
	}
	entry := NewEntry(p, time.Now())
	if err := entry.Annotate(p); err != nil {
		t.Fatal(err)
	}
	recorded := 0
	if err := a.ApplyRecorded(context.Background(), p, entry, func() { recorded++ }); err != nil {
		t.Fatal(err)
	}
	if got := states(entry); !reflect.DeepEqual(got, []string{StateWritten, StateWritten}) || recorded != 2 {
		t.Errorf("states %v, recorded %d times; want both written, recorded after each", got, recorded)
	}
	live, _ := a.Get(context.Background(), p.Objects[0])
	if rec, err := FromAnnotation(live); err != nil || rec == nil || rec.ID != entry.ID {
		t.Errorf("the workload does not carry the run's record: %v %v", rec, err)
	}
	if !strings.Contains(spec(t, f), `"readinessProbe":{"periodSeconds":5,"tcpSocket":{"port":"http"}}`) || !pdbExists(t, f) {
		t.Fatalf("not applied: %s", spec(t, f))
	}

	done, err := a.Undo(context.Background(), entry, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(done.Restored, []string{"shop/deployment.apps/web"}) || !reflect.DeepEqual(done.Deleted, []string{"shop/poddisruptionbudget.policy/web"}) {
		t.Errorf("restored %v, deleted %v", done.Restored, done.Deleted)
	}
	if got := spec(t, f); got != before {
		t.Errorf("spec after undo:\n got %s\nwant %s", got, before)
	}
	if pdbExists(t, f) {
		t.Error("the PDB harden created is still there")
	}
	live, _ = a.Get(context.Background(), p.Objects[0])
	if _, ok := live.GetAnnotations()[UndoAnnotation]; ok {
		t.Error("the undo record stays on the workload")
	}
	if entry.Open() {
		t.Errorf("entry still open: %v", states(entry))
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A companion the API server refuses undoes the workload's write: the
// error names the refused object and says the workload is as it was.
func TestApplyRefusedCompanionUndoesTheWorkload(t *testing.T) {
	f := newFakeAPI(t, web())
	a := f.applier()
	before := spec(t, f)
	p, _ := probeAndPDB(t, f)
	f.PrependReactor("patch", "poddisruptionbudgets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(pdbs.GroupResource(), "web", errors.New("denied by a policy"))
	})
	entry := NewEntry(p, time.Now())
	_ = entry.Annotate(p)
	err := a.Apply(context.Background(), p, entry)
	var tx *TxError
	if !errors.As(err, &tx) {
		t.Fatalf("want a TxError, got %v", err)
	}
	want := `shop/poddisruptionbudget.policy/web: poddisruptionbudgets.policy "web" is forbidden: denied by a policy; shop/deployment.apps/web restored as it was`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if !apierrors.IsForbidden(err) {
		t.Error("the API's error is not kept")
	}
	if got := spec(t, f); got != before {
		t.Errorf("spec not restored:\n got %s\nwant %s", got, before)
	}
	if got := states(entry); !reflect.DeepEqual(got, []string{StateRestored, StateAbsent}) {
		t.Errorf("states %v", got)
	}
}

// A field another manager owns stops the first write with a
// ConflictError naming the manager and the field; nothing else is
// written and nothing needs undoing.
func TestApplyConflictChangesNothing(t *testing.T) {
	f := newFakeAPI(t, web())
	a := f.applier()
	p, _ := probeAndPDB(t, f)
	unstructured.SetNestedField(p.Objects[0].Apply, int64(3), "spec", "replicas")
	entry := NewEntry(p, time.Now())
	_ = entry.Annotate(p)
	err := a.Apply(context.Background(), p, entry)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ConflictError, got %v", err)
	}
	want := "conflict on shop/deployment.apps/web: .spec.replicas is owned by field manager before-first-apply (--force-conflicts takes ownership); nothing was changed"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if len(ce.Fields) != 1 || ce.Fields[0].Manager != "before-first-apply" || ce.Fields[0].Field != ".spec.replicas" {
		t.Errorf("fields: %+v", ce.Fields)
	}
	if n := writes(f); n != 1 {
		t.Errorf("%d writes, want the refused one only", n)
	}
	if got := states(entry); !reflect.DeepEqual(got, []string{StateAbsent, StateAbsent}) {
		t.Errorf("states %v", got)
	}
	// Forced, the same plan takes the field.
	a.Force = true
	entry = NewEntry(p, time.Now())
	_ = entry.Annotate(p)
	if err := a.Apply(context.Background(), p, entry); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if !strings.Contains(spec(t, f), `"replicas":3`) {
		t.Errorf("forced apply: %s", spec(t, f))
	}
}

// A write without an answer (the connection closed) may have been made:
// it stays pending, and the undo that follows reads the object to know.
// Not made, nothing was changed; made, it is restored.
func TestApplyUnansweredWrite(t *testing.T) {
	closed := fmt.Errorf("http2: client connection lost: %w", io.ErrUnexpectedEOF)
	for _, tc := range []struct {
		name    string
		written bool
		want    string
	}{
		{"lost", false, "writing shop/deployment.apps/web: the API server closed the connection; nothing was changed"},
		{"made", true, "writing shop/deployment.apps/web: the API server closed the connection; shop/deployment.apps/web restored as it was"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, web())
			a := f.applier()
			before := spec(t, f)
			p, _ := probeAndPDB(t, f)
			react := k8stesting.ObjectReaction(f.tracker)
			once := false
			f.PrependReactor("patch", "deployments", func(act k8stesting.Action) (bool, runtime.Object, error) {
				if once {
					return false, nil, nil
				}
				once = true
				if tc.written {
					if _, _, err := react(act); err != nil {
						t.Fatal(err)
					}
				}
				return true, nil, closed
			})
			entry := NewEntry(p, time.Now())
			_ = entry.Annotate(p)
			err := a.Apply(context.Background(), p, entry)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if got := spec(t, f); got != before {
				t.Errorf("spec:\n got %s\nwant %s", got, before)
			}
			if pdbExists(t, f) {
				t.Error("the companion was written after a failed write")
			}
		})
	}
}

// Undo leaves a companion that is not harden's (its label changed since)
// and one that was there before the run, and says so.
func TestUndoLeavesCompanionsNotItsOwn(t *testing.T) {
	f := newFakeAPI(t, web())
	a := f.applier()
	p, _ := probeAndPDB(t, f)
	entry := NewEntry(p, time.Now())
	_ = entry.Annotate(p)
	if err := a.Apply(context.Background(), p, entry); err != nil {
		t.Fatal(err)
	}
	r := f.Resource(pdbs).Namespace("shop")
	pdb, err := r.Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.SetLabels(map[string]string{ManagedByLabel: "helm"})
	if _, err := r.Update(context.Background(), pdb, metav1.UpdateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	done, err := a.Undo(context.Background(), entry, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(done.Left, []string{"shop/poddisruptionbudget.policy/web (not created by kubectl harden)"}) || len(done.Deleted) != 0 {
		t.Errorf("left %v, deleted %v", done.Left, done.Deleted)
	}
	if !pdbExists(t, f) {
		t.Error("deleted a PDB that is not harden's")
	}
}

// probeFails is a status viewer that fails a rollout whose template has a
// readiness probe, as the progress deadline would, and completes one
// without: the run's fix breaks the app, the rollback mends it.
type probeFails struct{ calls int }

func (v *probeFails) Status(obj runtime.Unstructured, _ int64) (string, bool, error) {
	v.calls++
	u := obj.(*unstructured.Unstructured)
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if strings.Contains(toJSONAny(containers), "readinessProbe") {
		return "", false, errors.New(`deployment "web" exceeded its progress deadline`)
	}
	return `deployment "web" successfully rolled out`, true, nil
}

func toJSONAny(v any) string { b, _ := json.Marshal(v); return string(b) }

// A failed rollout is rolled back: the error says why, that the workload
// is as it was, and the journal holds the run and its rollback.
func TestCommitRollsBackAFailedRollout(t *testing.T) {
	f := newFakeAPI(t, web())
	a := f.applier()
	viewer := &probeFails{}
	a.StatusViewer = func(schema.GroupKind) (polymorphichelpers.StatusViewer, error) { return viewer, nil }
	before := spec(t, f)
	p, w := probeAndPDB(t, f)
	journal := Journal{Dir: t.TempDir()}
	var lines []string
	out, err := a.Commit(context.Background(), p, w, Commit{Journal: journal, Cluster: "test", Watch: true, Timeout: time.Minute,
		Progress: func(s string) { lines = append(lines, s) }})
	var rb *RolledBackError
	if !errors.As(err, &rb) {
		t.Fatalf("want a RolledBackError, got %v", err)
	}
	want := `rollout of deployment.apps/web failed: deployment "web" exceeded its progress deadline; rolled back: deployment/web -n shop is as it was before`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if got := spec(t, f); got != before {
		t.Errorf("spec:\n got %s\nwant %s", got, before)
	}
	if pdbExists(t, f) {
		t.Error("the companion stays after the rollback")
	}
	// The rollback's own rollout, marked so: not the fix's "successfully rolled out".
	if !reflect.DeepEqual(lines, []string{`rollback: deployment "web" successfully rolled out`}) {
		t.Errorf("progress: %q", lines)
	}
	if out.Entry.Open() {
		t.Errorf("entry open after the rollback: %v", states(out.Entry))
	}
	entries, err := journal.List("test", "shop", "Deployment", "web")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if !reflect.DeepEqual(actions, []string{"harden", "rollback"}) {
		t.Errorf("journal: %v", actions)
	}
}

// A new pod stuck in CrashLoopBackOff fails the rollout at once, named,
// long before the timeout.
func TestCommitRollsBackACrashLoop(t *testing.T) {
	crashing := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-new-1", Namespace: "shop", Labels: map[string]string{"app": "web"},
		CreationTimestamp: metav1.NewTime(time.Now().Add(time.Hour))},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}}}}}}
	old := crashing.DeepCopy()
	old.Name, old.CreationTimestamp = "web-old-1", metav1.NewTime(time.Now().Add(-time.Hour))
	f := newFakeAPI(t, web(), crashing, old)
	a := f.applier()
	a.StatusViewer = func(schema.GroupKind) (polymorphichelpers.StatusViewer, error) { return waiting{}, nil }
	before := spec(t, f)
	p, w := probeAndPDB(t, f)
	start := time.Now()
	_, err := a.Commit(context.Background(), p, w, Commit{Journal: Journal{Dir: t.TempDir()}, Cluster: "test", Watch: true, Timeout: time.Minute})
	if err == nil || !strings.HasPrefix(err.Error(), "rollout of deployment.apps/web failed: pod web-new-1") || !strings.Contains(err.Error(), "CrashLoopBackOff") ||
		!strings.HasSuffix(err.Error(), "; rolled back: deployment/web -n shop is as it was before") {
		t.Errorf("got %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s: the stuck pod was not seen at once", time.Since(start))
	}
	if got := spec(t, f); got != before {
		t.Errorf("spec:\n got %s\nwant %s", got, before)
	}
}

// waiting is a status viewer of a rollout that does not complete while
// the template has a readiness probe, and is complete without.
type waiting struct{}

func (waiting) Status(obj runtime.Unstructured, _ int64) (string, bool, error) {
	containers, _, _ := unstructured.NestedSlice(obj.UnstructuredContent(), "spec", "template", "spec", "containers")
	if strings.Contains(toJSONAny(containers), "readinessProbe") {
		return `Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...`, false, nil
	}
	return `deployment "web" successfully rolled out`, true, nil
}

// scaledDuringRun is a status viewer that, the first time it is asked,
// scales the Deployment as `kubectl scale` would (another field manager,
// during the run), and is otherwise probeFails.
type scaledDuringRun struct {
	t      *testing.T
	f      *fakeAPI
	scaled bool
	probeFails
}

func (v *scaledDuringRun) Status(obj runtime.Unstructured, revision int64) (string, bool, error) {
	if !v.scaled {
		v.scaled = true
		patch := []byte(`{"spec":{"replicas":4}}`)
		if _, err := v.f.Resource(deployments).Namespace("shop").Patch(context.Background(), "web", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-scale"}); err != nil {
			v.t.Error(err)
		}
	}
	return v.probeFails.Status(obj, revision)
}

// What another manager changed during the run survives the rollback, and
// the error names it, its value and its manager: the workload is as
// before except that.
func TestCommitRollbackKeepsOtherManagersChanges(t *testing.T) {
	f := newFakeAPI(t, web())
	a := f.applier()
	a.StatusViewer = func(schema.GroupKind) (polymorphichelpers.StatusViewer, error) {
		return &scaledDuringRun{t: t, f: f}, nil
	}
	p, w := probeAndPDB(t, f)
	_, err := a.Commit(context.Background(), p, w, Commit{Journal: Journal{Dir: t.TempDir()}, Cluster: "test", Watch: true, Timeout: time.Minute})
	var rb *RolledBackError
	if !errors.As(err, &rb) {
		t.Fatalf("want a RolledBackError, got %v", err)
	}
	want := "deployment/web -n shop is as before except .spec.replicas (4, set by kubectl-scale during the run)"
	if rb.State() != want {
		t.Errorf("state:\n got %s\nwant %s", rb.State(), want)
	}
	if !strings.Contains(spec(t, f), `"replicas":4`) || strings.Contains(spec(t, f), "readinessProbe") {
		t.Errorf("spec after the rollback: %s", spec(t, f))
	}
}
