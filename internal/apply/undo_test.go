package apply

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

func deploymentJSON(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

const liveWeb = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},
"spec":{"replicas":4,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
"spec":{"containers":[{"name":"side","image":"side:1"},{"name":"app","image":"web:2",
"readinessProbe":{"tcpSocket":{"port":"http"},"periodSeconds":21}}]}}}}`

func owned(manager, sub, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: sub,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

// The fields harden set that someone changed since are found with their
// new value and owner; those still as harden set them are not.
func TestDrifted(t *testing.T) {
	live := deploymentJSON(t, liveWeb)
	live.SetManagedFields([]metav1.ManagedFieldsEntry{
		owned("kubectl-patch", "", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:readinessProbe":{"f:periodSeconds":{}}}}}}}}`),
		owned("kubectl", "scale", `{"f:spec":{"f:replicas":{}}}`),
	})
	set := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "resourceVersion": "7"},
		"spec": map[string]any{"replicas": int64(2), "template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "readinessProbe": map[string]any{"tcpSocket": map[string]any{"port": "http"}, "periodSeconds": int64(5)}},
		}}}}}
	got, err := drifted(live, set, "kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, d := range got {
		notes = append(notes, d.describe())
	}
	want := []string{
		`.spec.replicas (4, set by kubectl via /scale during the run)`,
		`.spec.template.spec.containers[name="app"].readinessProbe.periodSeconds (21, set by kubectl-patch during the run)`,
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("drifted:\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	if u := unitOf(got[1].Path); u.String() != `.spec.template.spec.containers[name="app"].readinessProbe` {
		t.Errorf("unit of the probe field: %s", u)
	}
	if u := unitOf(got[0].Path); u != nil {
		t.Errorf("replicas has a unit: %s", u)
	}
	// The probe is the second container: its pointer uses the live index.
	ptr, v, ok := pointer(live.Object, unitOf(got[1].Path))
	if !ok || ptr != "/spec/template/spec/containers/1/readinessProbe" || v.(map[string]any)["periodSeconds"] != float64(21) {
		t.Errorf("pointer: %s %v %v", ptr, v, ok)
	}
}

// What is not as before is every spec field that differs, with its owner.
func TestDifferences(t *testing.T) {
	before := deploymentJSON(t, strings.NewReplacer(`"replicas":4`, `"replicas":1`, `"web:2"`, `"web:1"`, `,
"readinessProbe":{"tcpSocket":{"port":"http"},"periodSeconds":21}`, ``).Replace(liveWeb)).Object
	live := deploymentJSON(t, strings.Replace(liveWeb, `,
"readinessProbe":{"tcpSocket":{"port":"http"},"periodSeconds":21}`, ``, 1))
	live.SetManagedFields([]metav1.ManagedFieldsEntry{
		owned("kubectl-set", "", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`),
	})
	got, err := differences(before, live, "kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, d := range got {
		notes = append(notes, d.describe())
	}
	want := `.spec.replicas (4, changed during the run)` + "\n" + `.spec.template.spec.containers[name="app"].image ("web:2", set by kubectl-set during the run)`
	if strings.Join(notes, "\n") != want {
		t.Errorf("differences:\n%s\nwant\n%s", strings.Join(notes, "\n"), want)
	}
	same, err := differences(live.Object, live, "kubectl-harden")
	if err != nil || len(same) != 0 {
		t.Errorf("an unchanged object differs: %v %v", same, err)
	}
}

func TestRemovePath(t *testing.T) {
	obj := deploymentJSON(t, liveWeb).Object
	p := fieldpath.MakePathOrDie("spec", "template", "spec", "containers", fieldpath.KeyByFields("name", "app"), "readinessProbe", "periodSeconds")
	if !removePath(obj, p) {
		t.Fatal("nothing removed")
	}
	if _, ok := lookupPath(obj, p); ok {
		t.Error("still there")
	}
	probe := p[:len(p)-1]
	if v, ok := lookupPath(obj, probe); !ok || len(v.(map[string]any)) != 1 {
		t.Errorf("the probe lost more than periodSeconds: %v", v)
	}
	// A map left empty goes too.
	rep := fieldpath.MakePathOrDie("spec", "replicas")
	o := map[string]any{"spec": map[string]any{"replicas": int64(1)}}
	removePath(o, rep)
	if _, ok := o["spec"]; ok {
		t.Errorf("empty spec left: %v", o)
	}
	if removePath(o, rep) {
		t.Error("removed a missing field")
	}
}

func TestEntryStates(t *testing.T) {
	e := &Entry{ID: "r1", Action: "harden", Objects: []Change{
		{Kind: "Deployment", Name: "web", State: StateRestored},
		{Kind: "PodDisruptionBudget", Name: "web", Created: true, State: StateFailed},
	}}
	if !e.Open() {
		t.Error("a companion whose deletion failed leaves the run open")
	}
	e.Merge(&Entry{ID: "r1", Objects: []Change{{Kind: "PodDisruptionBudget", Name: "web", State: StateDeleted}, {Kind: "Deployment", Name: "web", State: StatePending}}})
	if e.Objects[1].State != StateDeleted || e.Objects[0].State != StateRestored {
		t.Errorf("merge: %+v", e.Objects)
	}
	if e.Open() {
		t.Error("a run restored and deleted is still open")
	}
	if (&Entry{Action: "harden"}).Open() != true || (&Entry{Action: "rollback"}).Open() {
		t.Error("entries without states")
	}
	if got := e.UndoCommand(); got != "kubectl harden undo deployment/web" {
		t.Errorf("undo command: %s", got)
	}
}

// The annotation found on the object proves its own write was made.
func TestFromAnnotationMarksCarrierWritten(t *testing.T) {
	e := &Entry{ID: "r2", Action: "harden", Objects: []Change{
		{Kind: "Deployment", Name: "web", State: StatePending},
		{Kind: "PodDisruptionBudget", Name: "web", Created: true, State: StatePending},
	}}
	b, _ := json.Marshal(e)
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAnnotations(map[string]string{UndoAnnotation: string(b)})
	got, err := FromAnnotation(u)
	if err != nil {
		t.Fatal(err)
	}
	if got.Objects[0].State != StateWritten || got.Objects[1].State != StatePending {
		t.Errorf("states: %+v", got.Objects)
	}
}

// The journal keeps one entry per run, as last recorded, and survives a
// line cut short.
func TestJournalFoldsRecords(t *testing.T) {
	j := Journal{Dir: t.TempDir()}
	now := time.Now()
	e := &Entry{ID: "r3", Time: now, Action: "harden", Objects: []Change{{Kind: "Deployment", Name: "web", State: StatePending}}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.Append("c", "shop", "Deployment", "web", e))
	e.Objects[0].State = StateWritten
	must(j.Append("c", "shop", "Deployment", "web", e))
	must(j.Append("c", "shop", "Deployment", "web", &Entry{ID: "r3/rollback", Time: now, Action: "rollback"}))
	e.Objects[0].State = StateRestored
	must(j.Append("c", "shop", "Deployment", "web", e))
	f, err := os.OpenFile(filepath.Join(j.Dir, "c", "shop", "deployment.web.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	must(err)
	_, _ = f.WriteString(`{"id":"r4","act`)
	f.Close()
	got, err := j.List("c", "shop", "Deployment", "web")
	must(err)
	if len(got) != 2 || got[0].ID != "r3" || got[0].Objects[0].State != StateRestored || got[1].Action != "rollback" {
		t.Errorf("list: %+v", got)
	}
}

func TestRollbackMessages(t *testing.T) {
	cause := errors.New("rollout of deployment.apps/web failed: pod web-1: CrashLoopBackOff")
	e := &RolledBackError{Cause: cause, Workload: "deployment/web", Namespace: "shop"}
	if got := e.Error(); got != cause.Error()+"; rolled back: deployment/web -n shop is as it was before" {
		t.Errorf("exact: %s", got)
	}
	e.Except = []string{".spec.replicas (4, set by kubectl-scale during the run)"}
	if got := e.State(); got != "deployment/web -n shop is as before except .spec.replicas (4, set by kubectl-scale during the run)" || strings.Contains(got, "as it was before") {
		t.Errorf("except: %s", got)
	}
	tx := &TxError{Failed: "shop/poddisruptionbudget.policy/web", Err: errors.New("shop/poddisruptionbudget.policy/web: refused"),
		Undone: []string{"shop/deployment.apps/web"}, UndoErr: errors.New("connection refused"), Command: "kubectl harden undo deployment/web -n shop"}
	if got := tx.Error(); !strings.Contains(got, "undoing shop/deployment.apps/web failed too (connection refused): run kubectl harden undo deployment/web -n shop once the cluster answers") {
		t.Errorf("tx: %s", got)
	}
}
