package engine

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

func accessEngine(watch bool, deny map[string]bool) (*Engine, *[]string) {
	return accessEngineFunc(watch, func(ra *authorizationv1.ResourceAttributes) (bool, error) {
		return !deny[ra.Verb+" "+ra.Resource], nil
	})
}

// accessEngineFunc is accessEngine answering each review with allow; its
// second slice records every review asked, "verb resource namespace/name".
func accessEngineFunc(watch bool, allow func(*authorizationv1.ResourceAttributes) (bool, error)) (*Engine, *[]string) {
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk    schema.GroupVersionKind
		plural string
	}{
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments"},
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, "statefulsets"},
		{schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}, "poddisruptionbudgets"},
		{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, "networkpolicies"},
		{schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, "horizontalpodautoscalers"},
	} {
		mapper.AddSpecific(k.gvk, k.gvk.GroupVersion().WithResource(k.plural), k.gvk.GroupVersion().WithResource(strings.TrimSuffix(k.plural, "s")), meta.RESTScopeNamespace)
	}
	client := fake.NewSimpleClientset()
	var asked []string
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		ra := review.Spec.ResourceAttributes
		key := ra.Verb + " " + ra.Resource + " " + ra.Namespace + "/" + ra.Name
		asked = append(asked, key)
		ok, err := allow(ra)
		if err != nil {
			return true, nil, err
		}
		review.Status.Allowed = ok
		return true, review, nil
	})
	return &Engine{Reader: &inspect.Reader{Client: client}, Applier: &apply.Applier{Mapper: mapper},
		Commit: apply.Commit{Watch: watch}}, &asked
}

func accessPlan() *plan.Plan {
	return &plan.Plan{Objects: []*plan.Object{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"},
		{APIVersion: "policy/v1", Kind: "PodDisruptionBudget", Namespace: "shop", Name: "web", Create: true},
		{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: "shop", Name: "web", Create: true},
	}}
}

// Every verb the run and its rollback need is asked, once each.
func TestRightsCoverRunAndRollback(t *testing.T) {
	e, asked := accessEngine(true, nil)
	if err := e.CheckAccess(context.Background(), accessPlan()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"patch deployments shop/web", "patch horizontalpodautoscalers shop/web",
		"patch poddisruptionbudgets shop/web", "create poddisruptionbudgets shop/", "get poddisruptionbudgets shop/web", "delete poddisruptionbudgets shop/web",
		"patch networkpolicies shop/web", "create networkpolicies shop/", "get networkpolicies shop/web", "delete networkpolicies shop/web",
		"get deployments shop/web", "list deployments shop/web", "watch deployments shop/web", "list pods shop/", "watch pods shop/",
	}
	got := map[string]int{}
	for _, a := range *asked {
		got[a]++
	}
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("%q asked %d times, want once (asked: %v)", w, got[w], *asked)
		}
	}
	if len(*asked) != len(want) {
		t.Errorf("asked %d rights, want %d: %v", len(*asked), len(want), *asked)
	}
	// Without a watch, the pods are not read.
	e, asked = accessEngine(false, nil)
	if err := e.CheckAccess(context.Background(), accessPlan()); err != nil {
		t.Fatal(err)
	}
	for _, a := range *asked {
		if strings.HasPrefix(a, "list pods") {
			t.Error("pods listed without a watch")
		}
	}
}

// A missing delete refuses the run with one line naming the verb, the
// resource, the namespace and why.
func TestMissingDeleteRefuses(t *testing.T) {
	e, _ := accessEngine(true, map[string]bool{"delete poddisruptionbudgets": true, "list pods": true})
	err := e.CheckAccess(context.Background(), accessPlan())
	var ae *AccessError
	if !errors.As(err, &ae) {
		t.Fatalf("want an AccessError, got %v", err)
	}
	want := "cannot delete poddisruptionbudgets in namespace shop: a failed rollout could not be rolled back (also missing: list pods); nothing was changed"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	e, _ = accessEngine(true, map[string]bool{"create networkpolicies": true})
	if err := e.CheckAccess(context.Background(), accessPlan()); err == nil ||
		err.Error() != "cannot create networkpolicies in namespace shop: networkpolicy.networking.k8s.io/web could not be created; nothing was changed" {
		t.Errorf("missing create: %v", err)
	}
}

// A StatefulSet's rollback deletes its pods stuck on the failed revision:
// the run asks for delete on pods, and refuses without it.
func TestStatefulSetRollbackNeedsDeletePods(t *testing.T) {
	sts := &plan.Plan{Objects: []*plan.Object{{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "ledger"}}}
	e, asked := accessEngine(true, nil)
	if err := e.CheckAccess(context.Background(), sts); err != nil {
		t.Fatal(err)
	}
	want := []string{"patch statefulsets shop/ledger", "delete pods shop/", "get statefulsets shop/ledger", "list statefulsets shop/ledger", "watch statefulsets shop/ledger", "list pods shop/", "watch pods shop/"}
	got := append([]string(nil), *asked...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("asked %v, want %v", *asked, want)
	}
	e, _ = accessEngine(true, map[string]bool{"delete pods": true})
	err := e.CheckAccess(context.Background(), sts)
	if err == nil || err.Error() != "cannot delete pods in namespace shop: "+forStuckPods+"; nothing was changed" {
		t.Errorf("missing delete pods: %v", err)
	}
	// A Deployment's rollback deletes no pod.
	e, asked = accessEngine(true, nil)
	if err := e.CheckAccess(context.Background(), accessPlan()); err != nil {
		t.Fatal(err)
	}
	for _, a := range *asked {
		if strings.HasPrefix(a, "delete pods") {
			t.Error("delete pods asked for a Deployment")
		}
	}
}
