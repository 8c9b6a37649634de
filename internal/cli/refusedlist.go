package cli

import (
	"context"
	"errors"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// workloadResources are the audit's workload LISTs, read only when their
// kind is audited (--kinds); Jobs are always read, for CronJobs' pods.
var workloadResources = func() map[string]string {
	m := map[string]string{}
	for _, k := range inspect.KindTable {
		if k.In(inspect.Workloads) && k.Name() != "Job" {
			m[k.Resource] = k.Name()
		}
	}
	return m
}()

// firstRefusedList makes an audit of every namespace refused a LIST
// (*inspect.ClusterWideError) name the same resource on every run: the
// LISTs run at once, and whichever refusal came back first used to be
// the one named. It asks the API server, with a SelfSubjectAccessReview
// per resource in inspect.ListedResources' order, which required LIST
// (requiredList) of this scope the user lacks cluster-wide, and names the
// first. Any other error, or an API server
// that does not answer the reviews, leaves err as it is.
func firstRefusedList(ctx context.Context, client kubernetes.Interface, mapper meta.RESTMapper, scope inspect.Scope, err error) error {
	var cw *inspect.ClusterWideError
	if !errors.As(err, &cw) || client == nil || mapper == nil {
		return err
	}
	for _, res := range inspect.ListedResources {
		if kind, ok := workloadResources[res]; ok && !scope.Kinds[kind] {
			continue
		}
		if !requiredList(res) {
			continue // an optional read: refused, it is an unread line
		}
		gvr, merr := mapper.ResourceFor(schema.GroupVersionResource{Resource: res})
		if merr != nil {
			continue
		}
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Group: gvr.Group, Resource: gvr.Resource}}}
		got, rerr := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if rerr != nil {
			return err
		}
		if !got.Status.Allowed {
			if res == cw.Resource {
				return err
			}
			return &inspect.ClusterWideError{Resource: res, Err: cw.Err}
		}
	}
	return err
}

// requiredList reports whether an audit of every namespace fails when
// the LIST of res is refused (inspect.EachNamespace's required sources):
// the namespaces, the workloads, Jobs and pods, and every resource whose
// refusal inspect.Unread has no words for (PDBs, Services, HPAs,
// NetworkPolicies, LimitRanges, ResourceQuotas). The others are optional
// reads, an unread line when refused.
func requiredList(res string) bool {
	switch res {
	case inspect.ResNamespaces, "deployments", "statefulsets", "daemonsets", "cronjobs", "jobs", "pods":
		return true
	}
	return (inspect.Unread{Resource: res, Verb: "list"}).Unknown() == res
}
