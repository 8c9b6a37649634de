package audit

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Three rules of known weights stand in for the plugins, so each score
// below can be worked out by hand from rules.Weights (high 15, medium 7,
// low 3) and rules.ScoreOf (100·100/(100+penalty), rounded).
type testRule struct {
	meta  rules.Meta
	check func(s *inspect.Snapshot) []rules.Finding
}

func (r testRule) Meta() rules.Meta                          { return r.meta }
func (r testRule) Check(s *inspect.Snapshot) []rules.Finding { return r.check(s) }
func (r testRule) Fix(*inspect.Snapshot, rules.Finding, rules.Params) (*rules.Fix, error) {
	return nil, rules.NeedsHumanf("test rule")
}

type testNSRule struct{ meta rules.Meta }

func (r testNSRule) Meta() rules.Meta { return r.meta }
func (r testNSRule) Check(ns *inspect.NamespaceSnapshot) []rules.Finding {
	if ns.Namespace.Labels["team"] != "" {
		return nil
	}
	return []rules.Finding{{Rule: r.meta.ID, Severity: r.meta.Severity, Category: r.meta.Category, Message: "no team label"}}
}

func init() {
	kinds := []string{"Deployment"}
	rules.Register(testRule{meta: rules.Meta{ID: "t-replicas", Severity: rules.High, Category: "availability", Kinds: kinds},
		check: func(s *inspect.Snapshot) []rules.Finding {
			if r := s.Workload.Deployment.Spec.Replicas; r != nil && *r >= 2 {
				return nil
			}
			return []rules.Finding{{Rule: "t-replicas", Severity: rules.High, Category: "availability", Message: "one replica", NeedsHuman: "test"}}
		}})
	rules.Register(testRule{meta: rules.Meta{ID: "t-latest", Severity: rules.Medium, Category: "rollout", Kinds: kinds},
		check: func(s *inspect.Snapshot) []rules.Finding {
			var out []rules.Finding
			for _, c := range s.Workload.PodTemplate().Spec.Containers {
				if strings.HasSuffix(c.Image, ":latest") {
					out = append(out, rules.Finding{Rule: "t-latest", Severity: rules.Medium, Category: "rollout", Container: c.Name, Message: "latest", NeedsHuman: "test"})
				}
			}
			return out
		}})
	rules.RegisterNamespace(testNSRule{meta: rules.Meta{ID: "t-team", Severity: rules.Low, Category: "security"}})
}

func deployment(ns, name string, replicas int32, image string, annotations map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}}}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// audit reads the fake cluster as `kubectl harden audit -A` does — one
// LIST per kind, namespace by namespace — and scores it.
func audit(t *testing.T, objs ...runtime.Object) *Report {
	t.Helper()
	r := &inspect.Reader{Client: fake.NewClientset(objs...)}
	ctx := context.Background()
	cluster, err := r.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := New(rules.Selection{})
	err = r.EachNamespace(ctx, inspect.Scope{Kinds: map[string]bool{"Deployment": true}}, func(inv *inspect.Inventory) error {
		_, err := a.Add(ctx, inv.Snapshots(cluster), inv.NamespaceSnapshot())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.Report()
}

// A workload scores by its pending findings; a namespace by the rounded
// mean of its workloads, scaled down by its own findings; the cluster by
// the namespaces' scores weighted by their workloads. Exempted findings
// count for nothing; namespaces and workloads are sorted, worst first.
func TestAuditScores(t *testing.T) {
	rep := audit(t,
		namespace("shop", nil), namespace("quiet", map[string]string{"team": "q"}),
		// high + medium: penalty 22, 100·100/122 = 81.97 → 82.
		deployment("shop", "web", 1, "web:latest", nil),
		deployment("shop", "api", 3, "api:1.2", nil),
		// Its high finding exempted by the skip annotation: 100.
		deployment("shop", "cart", 1, "cart:2", map[string]string{rules.SkipAnnotation: "t-replicas"}),
		deployment("quiet", "ok", 2, "ok:1", nil),
	)
	if rep.APIVersion != APIVersion || rep.Kind != Kind {
		t.Errorf("%s %s", rep.APIVersion, rep.Kind)
	}
	var names []string
	for _, n := range rep.Namespaces {
		names = append(names, n.Name)
	}
	if !reflect.DeepEqual(names, []string{"quiet", "shop"}) {
		t.Fatalf("namespaces %v", names)
	}
	quiet, shop := rep.Namespaces[0], rep.Namespaces[1]
	scores := func(n Namespace) []string {
		var out []string
		for _, w := range n.Workloads {
			out = append(out, fmt.Sprintf("%s=%d", w.Name, w.Score))
		}
		return out
	}
	if got := scores(shop); !reflect.DeepEqual(got, []string{"web=82", "api=100", "cart=100"}) {
		t.Errorf("shop's workloads: %v", got)
	}
	// shop: mean (82+100+100)/3 = 94 (rounded), times its own low finding's
	// 100·100/103 = 97: 94·97/100 = 91.18 → 91.
	if shop.Score != 91 {
		t.Errorf("shop scores %d, want 91", shop.Score)
	}
	if quiet.Score != 100 || len(quiet.Findings) != 0 {
		t.Errorf("quiet scores %d with %d findings, want 100 and none", quiet.Score, len(quiet.Findings))
	}
	// The cluster: (91·3 + 100·1)/4 = 93.25 → 93.
	if rep.Score != 93 || rep.Workloads != 4 {
		t.Errorf("cluster scores %d over %d workloads, want 93 over 4", rep.Score, rep.Workloads)
	}
	want := Counts{High: 1, Medium: 1, Low: 1}
	if rep.Pending != want || shop.Pending != want {
		t.Errorf("pending: cluster %+v, shop %+v, want %+v", rep.Pending, shop.Pending, want)
	}
	if shop.Workloads[0].Pending != (Counts{High: 1, Medium: 1}) {
		t.Errorf("web's pending: %+v", shop.Workloads[0].Pending)
	}
	cart := shop.Workloads[2]
	if len(cart.Findings) != 1 || cart.Findings[0].Status != rules.StatusExempted || cart.Pending != (Counts{}) {
		t.Errorf("cart: %+v", cart)
	}
	if got := shop.Workloads[0].TopRules(1); !reflect.DeepEqual(got, []string{"t-replicas", "+1"}) {
		t.Errorf("web's top rules: %v", got)
	}
	if rep.Pending.AtLeast(rules.Critical) != 0 || rep.Pending.AtLeast(rules.High) != 1 || rep.Pending.AtLeast(rules.Low) != 3 {
		t.Errorf("AtLeast: %+v", rep.Pending)
	}
}

// Nothing to audit scores 100, not 0 nor a division by zero.
func TestAuditEmpty(t *testing.T) {
	rep := audit(t)
	if rep.Score != 100 || rep.Workloads != 0 || len(rep.Namespaces) != 0 {
		t.Errorf("%+v", rep)
	}
}

// The namespace rules' findings need a human; the namespace's skip
// annotation exempts them and --skip skips them, each with its reason.
func TestNamespaceFindings(t *testing.T) {
	ns := func(ann map[string]string) *inspect.NamespaceSnapshot {
		return &inspect.NamespaceSnapshot{Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Annotations: ann}}}
	}
	for _, tc := range []struct {
		name   string
		ns     *inspect.NamespaceSnapshot
		sel    rules.Selection
		status rules.Status
		reason string
	}{
		{"plain", ns(nil), rules.Selection{}, rules.StatusNeedsHuman, ""},
		{"annotated", ns(map[string]string{rules.SkipAnnotation: "t-team"}), rules.Selection{}, rules.StatusExempted, "namespace annotation " + rules.SkipAnnotation + "=t-team"},
		{"--skip", ns(nil), rules.Selection{Skip: []string{"t-team"}}, rules.StatusSkipped, rules.SkippedByFlag},
	} {
		got := NamespaceFindings(tc.ns, tc.sel)
		if len(got) != 1 || got[0].Status != tc.status || got[0].Reason != tc.reason {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
}
