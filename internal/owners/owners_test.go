package owners

import (
	"bytes"
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// live is a Deployment as `kubectl apply -f` leaves it: its manifest's
// fields owned by kubectl-client-side-apply, replicas later changed with
// kubectl scale, and one field harden owns.
func live(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	obj := map[string]any{}
	if err := json.Unmarshal([]byte(`{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
      "securityContext": {"runAsUser": 1000},
      "containers": [{"name": "web", "image": "nginx:1.27",
        "securityContext": {"capabilities": {"drop": ["NET_RAW"]}},
        "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 10}}]}}}}`), &obj); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	fields := func(s string) *metav1.FieldsV1 { return &metav1.FieldsV1{Raw: []byte(s)} }
	u.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: fields(`{
  "f:spec": {"f:selector": {}, "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {
    "f:securityContext": {".": {}, "f:runAsUser": {}},
    "f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {},
      "f:securityContext": {".": {}, "f:capabilities": {".": {}, "f:drop": {}}}}}}}}}`)},
		{Manager: "kubectl-scale", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "scale", FieldsType: "FieldsV1", FieldsV1: fields(`{"f:spec": {"f:replicas": {}}}`)},
		{Manager: "kubectl-harden", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: fields(`{
  "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {},
    "f:readinessProbe": {"f:tcpSocket": {"f:port": {}}, "f:periodSeconds": {}}}}}}}}`)},
		{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", FieldsType: "FieldsV1", FieldsV1: fields(`{"f:status": {"f:replicas": {}}}`)},
	})
	return u
}

func change(t *testing.T, spec string) map[string]any {
	t.Helper()
	obj := map[string]any{}
	if err := json.Unmarshal([]byte(`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}, "spec": `+spec+`}`), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []Conflict
	}{{
		name: "a field nobody owns",
		spec: `{"minReadySeconds": 10}`,
	}, {
		name: "replicas taken from a one-off kubectl scale",
		spec: `{"replicas": 4}`,
		want: []Conflict{{Field: ".spec.replicas", Manager: "kubectl-scale", Class: OneOff}},
	}, {
		name: "the same value is shared ownership, not a conflict",
		spec: `{"replicas": 3, "template": {"spec": {"securityContext": {"runAsUser": 1000}}}}`,
	}, {
		name: "an explicit runAsUser of the manifest",
		spec: `{"template": {"spec": {"securityContext": {"runAsUser": 65532, "runAsNonRoot": true}}}}`,
		want: []Conflict{{Field: ".spec.template.spec.securityContext.runAsUser", Manager: "kubectl-client-side-apply", Class: Manifest}},
	}, {
		name: "an atomic list conflicts as a whole",
		spec: `{"template": {"spec": {"containers": [{"name": "web", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]}}}`,
		want: []Conflict{{Field: `.spec.template.spec.containers[name="web"].securityContext.capabilities.drop`, Manager: "kubectl-client-side-apply", Class: Manifest}},
	}, {
		name: "fields harden owns are its own",
		spec: `{"template": {"spec": {"containers": [{"name": "web", "readinessProbe": {"periodSeconds": 5}}]}}}`,
	}, {
		name: "a new container field is not a conflict with the owner of the container",
		spec: `{"template": {"spec": {"containers": [{"name": "web", "livenessProbe": {"tcpSocket": {"port": 80}}}]}}}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Of(live(t), change(t, tc.spec), "kubectl-harden")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("conflict %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// kubectl apply owns the fields the API server defaulted at creation too;
// those not in its last applied configuration are left alone by its next
// apply, so they are not the manifest's.
func TestOfDefaultedByTheServer(t *testing.T) {
	u := live(t)
	mf := u.GetManagedFields()
	mf[0].FieldsV1.Raw = []byte(`{"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:securityContext": {".": {}, "f:runAsUser": {}}}}}}`)
	mf = mf[:1]
	u.SetManagedFields(mf)
	u.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"apps/v1","kind":"Deployment",` +
		`"metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"securityContext":{"runAsUser":1000}}}}}`})
	got, err := Of(u, change(t, `{"replicas": 2, "template": {"spec": {"securityContext": {"runAsUser": 65532}}}}`), "kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{
		{Field: ".spec.replicas", Manager: "kubectl-client-side-apply", Class: Defaulted},
		{Field: ".spec.template.spec.securityContext.runAsUser", Manager: "kubectl-client-side-apply", Class: Manifest},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if !Defaulted.Takes() {
		t.Error("a server default is not taken")
	}
}

// A hand edit of a field the manifest sets is no one-off: the next
// kubectl apply resets it, so kubectl apply is named as an owner too.
func TestOfHandEditOfAManifestField(t *testing.T) {
	u := live(t)
	mf := u.GetManagedFields()
	mf[1] = metav1.ManagedFieldsEntry{Manager: "kubectl-patch", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec": {"f:replicas": {}}}`)}}
	u.SetManagedFields(mf)
	u.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"apps/v1","kind":"Deployment",` +
		`"metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":1}}`})
	got, err := Of(u, change(t, `{"replicas": 2}`), "kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{
		{Field: ".spec.replicas", Manager: "kubectl-client-side-apply", Class: Manifest},
		{Field: ".spec.replicas", Manager: "kubectl-patch", Class: OneOff},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestClassify(t *testing.T) {
	for manager, want := range map[string]Class{
		"kubectl-client-side-apply": Manifest, "kubectl": Manifest, "helm": Manifest, "argocd-controller": Manifest,
		"kustomize-controller": Manifest, "helm-controller": Manifest, "terraform-provider-kubernetes": Manifest,
		"kubectl-edit": OneOff, "kubectl-scale": OneOff, "kubectl-set": OneOff, "kubectl-patch": OneOff,
		"vpa-updater": Autoscaler, "keda-operator": Autoscaler, "my-operator": Controller,
	} {
		if got := Classify(metav1.ManagedFieldsEntry{Manager: manager}); got != want {
			t.Errorf("%s: got %s, want %s", manager, got, want)
		}
	}
	if got := Classify(metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Subresource: "scale"}); got != Autoscaler {
		t.Errorf("the HPA's scale writes: got %s", got)
	}
	// kubectl scale without a field manager: the server names it "kubectl".
	if got := Classify(metav1.ManagedFieldsEntry{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "scale"}); got != OneOff {
		t.Errorf("kubectl scale: got %s, want %s", got, OneOff)
	}
	for _, c := range []Class{Manifest, Autoscaler, Controller} {
		if c.Takes() {
			t.Errorf("%s: taken by default", c)
		}
	}
	if !OneOff.Takes() {
		t.Error("one-off edits are not taken by default")
	}
}

// What a run took goes back to its owner's entry, and only what harden
// still owns: a field someone changed since stays theirs.
func TestGiveBack(t *testing.T) {
	u := live(t)
	took, err := Takes(u, change(t, `{"replicas": 4, "template": {"spec": {"securityContext": {"runAsUser": 65532}}}}`), "kubectl-harden")
	if err != nil || len(took) != 2 {
		t.Fatalf("takes: %v %+v", err, took)
	}
	// After the run and its undo: harden owns both fields (it applied the
	// old values back with force), kubectl-scale's entry is gone, and
	// kubectl apply's lost runAsUser.
	fields := func(s string) *metav1.FieldsV1 { return &metav1.FieldsV1{Raw: []byte(s)} }
	after := []metav1.ManagedFieldsEntry{
		{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: fields(`{"f:spec": {"f:selector": {}}}`)},
		{Manager: "kubectl-harden", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1",
			FieldsV1: fields(`{"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:securityContext": {"f:runAsUser": {}}}}}}`)},
	}
	got, changed, err := GiveBack(after, "kubectl-harden", took, metav1.Now())
	if err != nil || !changed {
		t.Fatalf("give back: %v, changed %v", err, changed)
	}
	owner := map[string]string{}
	for _, e := range got {
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			t.Fatal(err)
		}
		s.Leaves().Iterate(func(p fieldpath.Path) { owner[p.String()] += e.Manager + "/" + e.Subresource })
	}
	if owner[".spec.replicas"] != "kubectl-scale/scale" || owner[".spec.template.spec.securityContext.runAsUser"] != "kubectl-client-side-apply/" {
		t.Errorf("owners after giving back: %v", owner)
	}
	for _, e := range got {
		if e.Manager == "kubectl-harden" {
			t.Errorf("harden keeps an entry owning nothing: %s", e.FieldsV1.Raw)
		}
	}
	// Nothing to give back when harden no longer owns the fields.
	if _, changed, _ := GiveBack(after[:1], "kubectl-harden", took, metav1.Now()); changed {
		t.Error("gave back fields harden does not own")
	}
}

func TestOwnedAsExtractReadsIt(t *testing.T) {
	u := live(t)
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		t.Fatal(err)
	}
	for _, manager := range []string{"kubectl-harden", "kubectl-client-side-apply", "nobody"} {
		ac, err := appsv1ac.ExtractDeployment(&d, manager)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Owned(u, manager)
		if err != nil {
			t.Fatalf("%s: %v", manager, err)
		}
		// Compared as JSON maps: the apply configuration's keys are in
		// struct order.
		var want map[string]any
		b, _ := json.Marshal(ac)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("%s:\n got %s\nwant %s", manager, g, w)
		}
	}
}

// A manifest may list one env name twice: client-side apply and the API
// server accept it (with a warning), client-go's Extract<Kind> does not.
func TestOwnedWithDuplicateListKeys(t *testing.T) {
	u := live(t)
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	containers[0].(map[string]any)["env"] = []any{
		map[string]any{"name": "A", "value": "1"}, map[string]any{"name": "A", "value": "2"}}
	if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	got, err := Owned(u, "kubectl-harden")
	if err != nil {
		t.Fatal(err)
	}
	probe, _, _ := unstructured.NestedSlice(got, "spec", "template", "spec", "containers")
	if b, _ := json.Marshal(probe); string(b) != `[{"name":"web","readinessProbe":{"periodSeconds":10,"tcpSocket":{"port":80}}}]` {
		t.Errorf("owned containers %s", b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
