package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
)

// terminating is the NamespaceLifecycle admission's refusal of a write in
// a namespace being deleted, as the API server sends it.
func terminating(ns string) error {
	err := apierrors.NewForbidden(schema.GroupResource{Group: "wgpolicyk8s.io", Resource: "policyreports"}, "harden-"+ns,
		errors.New("unable to create new content in namespace "+ns+" because it is being terminated"))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: corev1.NamespaceTerminatingCause, Field: "metadata.namespace"})
	return err
}

func TestNamespaceGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"terminating", terminating("old"), true},
		{"namespace not found", apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "old"), true},
		{"report not found", apierrors.NewNotFound(schema.GroupResource{Group: "wgpolicyk8s.io", Resource: "policyreports"}, "x"), false},
		{"rights", apierrors.NewForbidden(schema.GroupResource{Resource: "policyreports"}, "x", errors.New("no")), false},
		{"none", nil, false},
	} {
		if got := namespaceGone(tc.err); got != tc.want {
			t.Errorf("%s: namespaceGone = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A namespace deleted between the audit and the publish (an hourly
// CronJob meets it) is one line, not a failed run; any other refusal
// still fails it.
func TestPublishSkipsNamespaceBeingDeleted(t *testing.T) {
	api := reportAPIs[0]
	for _, tc := range []struct {
		refusal error
		wantErr bool
		want    string
	}{
		{terminating("old"), false, "not published: namespace old is being deleted"},
		{apierrors.NewForbidden(schema.GroupResource{Group: "wgpolicyk8s.io", Resource: "policyreports"}, "harden-old", errors.New("no")), true, ""},
	} {
		dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{api.gvr: "PolicyReportList"})
		dyn.PrependReactor("patch", "policyreports", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.refusal })
		var errOut bytes.Buffer
		o := &AuditOptions{IOStreams: genericiooptions.IOStreams{ErrOut: &errOut}, session: &session{applier: &apply.Applier{Client: dyn}}}
		p := &report.PolicyReport{}
		p.Name, p.Namespace = "harden-old", "old"
		err := o.applyReport(context.Background(), api, p, p, nil)
		if (err != nil) != tc.wantErr || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("refused with %v: error %v, stderr %q; want error %v and %q", tc.refusal, err, errOut.String(), tc.wantErr, tc.want)
		}
	}
}
