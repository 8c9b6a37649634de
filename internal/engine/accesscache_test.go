package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// workloadPlan is what a pdb,spread fix of one Deployment writes: the
// Deployment and a PodDisruptionBudget it creates, both named name.
func workloadPlan(namespace, name string) *plan.Plan {
	return &plan.Plan{Objects: []*plan.Object{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: namespace, Name: name},
		{APIVersion: "policy/v1", Kind: "PodDisruptionBudget", Namespace: namespace, Name: name, Create: true},
	}}
}

// rightsPerFix is how many rights workloadPlan needs with a watch: patch
// of both, create, get and delete of the budget, get, list and watch of
// the Deployment, list and watch of pods.
const rightsPerFix = 10

// With a cache, 10 workloads of one namespace and one of another cost one
// review per right and namespace (asked for all names), not one per right
// and workload; without it, every workload asks all its rights.
func TestAccessCacheAsksOncePerNamespace(t *testing.T) {
	plans := []*plan.Plan{}
	for i := range 10 {
		plans = append(plans, workloadPlan("shop", fmt.Sprintf("web-%d", i)))
	}
	plans = append(plans, workloadPlan("blog", "web-0"))
	for _, c := range []struct {
		name   string
		access *AccessCache
		want   int
	}{
		{"no cache", nil, len(plans) * rightsPerFix},
		{"cache", NewAccessCache(), 2 * rightsPerFix},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, asked := accessEngine(true, nil)
			e.Access = c.access
			for _, p := range plans {
				if err := e.CheckAccess(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			}
			if len(*asked) != c.want {
				t.Errorf("asked %d reviews, want %d: %v", len(*asked), c.want, *asked)
			}
			if c.access == nil {
				return
			}
			for _, a := range *asked {
				if !strings.HasSuffix(a, "/") {
					t.Errorf("%q asked for one object, want all names first", a)
				}
			}
		})
	}
}

// RBAC rules with resourceNames allow a named object and not all names:
// the named right is asked, once per object, and a named right refused
// refuses the run as it would without a cache.
func TestAccessCacheNamedRights(t *testing.T) {
	allow := func(ra *authorizationv1.ResourceAttributes) (bool, error) {
		if ra.Verb == "patch" && ra.Resource == "deployments" {
			return ra.Name == "web-0" || ra.Name == "web-1", nil
		}
		return true, nil
	}
	e, asked := accessEngineFunc(true, allow)
	e.Access = NewAccessCache()
	for _, name := range []string{"web-0", "web-1", "web-0"} {
		if err := e.CheckAccess(context.Background(), workloadPlan("shop", name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	count := map[string]int{}
	for _, a := range *asked {
		count[a]++
	}
	for _, want := range []string{"patch deployments shop/", "patch deployments shop/web-0", "patch deployments shop/web-1"} {
		if count[want] != 1 {
			t.Errorf("%q asked %d times, want once: %v", want, count[want], *asked)
		}
	}
	err := e.CheckAccess(context.Background(), workloadPlan("shop", "web-2"))
	var ae *AccessError
	if !errors.As(err, &ae) || len(ae.Missing) != 1 || ae.Missing[0].Name != "web-2" || ae.Missing[0].For != forApply {
		t.Fatalf("web-2: want patch deployments web-2 missing, got %v", err)
	}
	// The same words as without a cache.
	plain, _ := accessEngineFunc(true, allow)
	if err2 := plain.CheckAccess(context.Background(), workloadPlan("shop", "web-2")); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("with a cache: %v\nwithout:      %v", err, err2)
	}
}

// Workloads checked at once ask each right once between them.
func TestAccessCacheConcurrent(t *testing.T) {
	e, asked := accessEngine(true, nil)
	e.Access = NewAccessCache()
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() { errs[i] = e.CheckAccess(context.Background(), workloadPlan("shop", fmt.Sprintf("web-%d", i))) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("web-%d: %v", i, err)
		}
	}
	if len(*asked) != rightsPerFix {
		t.Errorf("asked %d reviews, want %d: %v", len(*asked), rightsPerFix, *asked)
	}
}

// A review that fails is not kept: the next check asks again and gets the
// API server's answer.
func TestAccessCacheForgetsFailures(t *testing.T) {
	fail := true
	e, asked := accessEngineFunc(true, func(ra *authorizationv1.ResourceAttributes) (bool, error) {
		if fail && ra.Resource == "pods" {
			return false, apierrors.NewServiceUnavailable("etcd leader changed")
		}
		return ra.Resource != "pods", nil
	})
	e.Access = NewAccessCache()
	if err := e.CheckAccess(context.Background(), workloadPlan("shop", "web")); err == nil || !strings.Contains(err.Error(), "checking your rights") {
		t.Fatalf("want the review's failure, got %v", err)
	}
	fail = false
	n := len(*asked)
	err := e.CheckAccess(context.Background(), workloadPlan("shop", "web"))
	var ae *AccessError
	if !errors.As(err, &ae) || ae.Missing[0].Resource != "pods" {
		t.Fatalf("want list pods missing once answered, got %v", err)
	}
	for _, a := range (*asked)[n:] {
		if !strings.Contains(a, " pods ") {
			t.Errorf("%q asked again though answered", a)
		}
	}
}
