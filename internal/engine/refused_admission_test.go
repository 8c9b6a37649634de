package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// A 403 is not always the authoriser's: a ResourceQuota the write would
// exceed and an admission webhook that denies with code 403 answer
// Forbidden too. Applying, such a refusal of the dry-run stays the API
// server's error — its reason is the quota or the policy — even when the
// user also lacks a right the access reviews would name (here every one:
// the reviews deny).
func TestApplyDryRunRefusedByAdmissionKeepsItsReason(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	webhook := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 403, Reason: metav1.StatusReasonForbidden,
		Message: `admission webhook "deny.example.com" denied the request: replicas must be set by the platform team`}}
	for name, refusal := range map[string]error{
		"quota": apierrors.NewForbidden(gr, "web", errors.New(
			"exceeded quota: pods, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1")),
		"webhook": webhook,
	} {
		t.Run(name, func(t *testing.T) {
			e, w := refusingEngine(t)
			e.Applier.Client.(interface {
				PrependReactor(verb, resource string, reaction k8stesting.ReactionFunc)
			}).PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, refusal })
			req := Request{Selection: rules.Selection{Fix: []string{"readiness-probe"}}, Mode: Apply, OfflineIfRefused: true}
			_, err := e.Fix(context.Background(), &inspect.Cluster{}, w, req)
			var access *AccessError
			if errors.As(err, &access) || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), refusal.(apierrors.APIStatus).Status().Message) {
				t.Errorf("got %v, want the API server's refusal %q", err, refusal)
			}
		})
	}
}

// A preview (OfflineIfRefused: no --dry-run=server, no --yes) whose
// dry-run a quota refuses does not plan offline as if the user lacked
// patch rights (the warning would send an admin to --dry-run=server):
// the quota's refusal is the run's error, as the apply's would be.
func TestPreviewDryRunRefusedByQuotaIsTheError(t *testing.T) {
	e, w := refusingEngine(t)
	quota := apierrors.NewForbidden(schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}, "web",
		errors.New("exceeded quota: no-pdb, requested: count/poddisruptionbudgets.policy=1, used: count/poddisruptionbudgets.policy=0, limited: count/poddisruptionbudgets.policy=0"))
	e.Applier.Client.(interface {
		PrependReactor(verb, resource string, reaction k8stesting.ReactionFunc)
	}).PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, quota })
	req := Request{Selection: rules.Selection{Fix: []string{"readiness-probe"}}, Mode: Preview, OfflineIfRefused: true}
	got, err := e.Fix(context.Background(), &inspect.Cluster{}, w, req)
	if err == nil || !strings.Contains(err.Error(), "exceeded quota: no-pdb") || got.DryRunRefused != "" {
		t.Errorf("preview: %v (dry-run refused %q), want the quota's refusal as the error", err, got.DryRunRefused)
	}
}

// Applying, a dry-run the authoriser refuses whose access reviews then
// fail (an API server timing out) stays the authoriser's refusal: the
// reviews were to explain it, their failure explains nothing.
func TestApplyRefusedDryRunReviewsFailing(t *testing.T) {
	e, w := refusingEngine(t)
	e.Reader.Client.(*fake.Clientset).PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
	req := Request{Selection: rules.Selection{Fix: []string{"readiness-probe"}}, Mode: Apply, OfflineIfRefused: true}
	_, err := e.Fix(context.Background(), &inspect.Cluster{}, w, req)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `cannot patch resource "deployments"`) {
		t.Errorf("got %v, want the authoriser's refusal", err)
	}
}
