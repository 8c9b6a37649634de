package apply

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
)

func TestOnDeleteNote(t *testing.T) {
	for _, tc := range []struct {
		old  []string
		want string
	}{
		{nil, "OnDelete — not watched; every pod already runs the current revision"},
		{[]string{"db-0"}, "OnDelete — 1 pod (db-0) still runs the old revision; it takes the change when deleted: kubectl delete pod db-0 -n shop"},
		{[]string{"db-0", "db-1", "db-2"}, "OnDelete — 3 pods (db-0, db-1, db-2) still run the old revision; they take the change when deleted, one at a time: kubectl delete pod db-0 -n shop"},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, "OnDelete — 7 pods (a, b, c, d, e and 2 more) still run"},
	} {
		if got := onDeleteNote(tc.old, "shop"); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v:\n got %q\nwant %q…", tc.old, got, tc.want)
		}
	}
}

// An immutable field refused by the API server is told without the Go dump
// of its value.
func TestExplainInvalid(t *testing.T) {
	dump := `core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", Labels:map[string]string{"app":"x"}}, Spec:core.PodSpec{Containers:[]core.Container{core.Container{Name:"x"}}}}`
	err := apierrors.NewInvalid(schema.GroupKind{Group: "batch", Kind: "Job"}, "migrate", field.ErrorList{
		field.Invalid(field.NewPath("spec", "template"), dump, "field is immutable"),
		field.Invalid(field.NewPath("spec", "backoffLimit"), -1, "must be greater than or equal to 0"),
	})
	got := explain(&plan.Object{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate"}, err)
	want := "shop/job.batch/migrate is invalid: spec.template: field is immutable; spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"
	if got.Error() != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if !apierrors.IsInvalid(errors.Unwrap(got)) {
		t.Error("the API error is not kept")
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("Waiting for 1 pods to be ready...\n  partition\r\n"); got != "Waiting for 1 pods to be ready...; partition" {
		t.Errorf("%q", got)
	}
}
