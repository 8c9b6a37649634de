package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// forbiddenPatch is what the API server answers a user bound to view for
// a server-side apply, dry-run or not.
var forbiddenPatch = apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web",
	errorString(`User "viewer" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`))

type errorString string

func (e errorString) Error() string { return string(e) }

// refusingEngine is an engine over one live Deployment whose every PATCH
// (the server-side dry-run included) is refused as Forbidden.
func refusingEngine(t *testing.T) (*Engine, *inspect.Workload) {
	t.Helper()
	one := int32(1)
	d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", ResourceVersion: "7"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}}}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	dyn := dynamicfake.NewSimpleDynamicClient(scheme, u)
	dyn.PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, forbiddenPatch })
	e, _ := accessEngine(false, nil)
	e.Reader = &inspect.Reader{Client: fake.NewSimpleClientset(d, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})}
	e.Applier.Client, e.Applier.FieldManager, e.Applier.Warnings = dyn, "kubectl-harden", &apply.Warnings{}
	w, err := inspect.NewWorkload(u)
	if err != nil {
		t.Fatal(err)
	}
	return e, w
}

// A preview whose dry-run is refused plans offline when the request allows
// it, and says what was refused; the plan is the one --dry-run=client
// makes. Without OfflineIfRefused (an explicit --dry-run=server) and when
// applying, the refusal stays the error.
func TestPreviewRefusedDryRunPlansOffline(t *testing.T) {
	e, w := refusingEngine(t)
	sel := rules.Selection{Fix: []string{"readiness-probe"}}
	cluster := &inspect.Cluster{}
	ctx := context.Background()

	offline, err := e.Fix(ctx, cluster, w, Request{Selection: sel, Mode: Offline})
	if err != nil || offline.Plan == nil || offline.Plan.Empty() {
		t.Fatalf("offline: %v, plan %v", err, offline.Plan)
	}
	got, err := e.Fix(ctx, cluster, w, Request{Selection: sel, Mode: Preview, OfflineIfRefused: true})
	if err != nil {
		t.Fatalf("preview with the dry-run refused: %v", err)
	}
	if got.DryRunRefused != "patch deployments" {
		t.Errorf("DryRunRefused %q, want %q", got.DryRunRefused, "patch deployments")
	}
	if a, b := got.Plan.Diff(), offline.Plan.Diff(); a != b || a == "" {
		t.Errorf("the refused preview's plan differs from --dry-run=client's:\n%s\nwant:\n%s", a, b)
	}
	if offline.DryRunRefused != "" {
		t.Errorf("an offline run says a dry-run was refused: %q", offline.DryRunRefused)
	}
	// --dry-run=server: the refusal is the error.
	if _, err := e.Fix(ctx, cluster, w, Request{Selection: sel, Mode: Preview}); err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "cannot patch") {
		t.Errorf("preview: %v, want the Forbidden error", err)
	}
}

// Applying, a dry-run refused as Forbidden is explained by the access
// check (every right missing, "nothing was changed") when the access
// reviews deny, and stays the API server's error when they allow (an
// authoriser that answers reviews otherwise).
func TestApplyRefusedDryRunNamesMissingRights(t *testing.T) {
	e, w := refusingEngine(t)
	req := Request{Selection: rules.Selection{Fix: []string{"readiness-probe"}}, Mode: Apply, OfflineIfRefused: true}
	_, err := e.Fix(context.Background(), &inspect.Cluster{}, w, req)
	var access *AccessError
	if !errors.As(err, &access) || access.Missing[0].String() != "patch deployments" || !strings.HasSuffix(err.Error(), "nothing was changed") {
		t.Errorf("apply with reviews denying: %v, want an *AccessError for patch deployments", err)
	}

	e.Reader.Client.(*fake.Clientset).PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		review.Status.Allowed = true
		return true, review, nil
	})
	if _, err := e.Fix(context.Background(), &inspect.Cluster{}, w, req); err == nil || !apierrors.IsForbidden(err) {
		t.Errorf("apply with reviews allowing: %v, want the Forbidden error", err)
	}
}

func TestRefusedDryRun(t *testing.T) {
	bare := apierrors.NewForbidden(schema.GroupResource{Resource: "poddisruptionbudgets"}, "web", errorString("no"))
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errorString("boom"), ""},
		{apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "web", errorString("x")), ""},
		{forbiddenPatch, "patch deployments"},
		{bare, "patch poddisruptionbudgets"},
	} {
		if got := RefusedDryRun(tc.err); got != tc.want {
			t.Errorf("RefusedDryRun(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
