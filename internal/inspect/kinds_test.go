package inspect

import (
	"slices"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The groups, in table order: the audit's --kinds default, the rules'
// Kinds and docs/rules.md print them in this order.
func TestKindsIn(t *testing.T) {
	for g, want := range map[Group][]string{
		Workloads:  {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"},
		Replicated: {"Deployment", "StatefulSet"},
		RolledOut:  {"Deployment", "StatefulSet", "DaemonSet"},
		JobLike:    {"Job", "CronJob"},
		Companion:  {"PodDisruptionBudget", "NetworkPolicy"},
		Related: {"Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy",
			"LimitRange", "RoleBinding", "Lease", "PersistentVolumeClaim"},
	} {
		if got := KindsIn(g); !slices.Equal(got, want) {
			t.Errorf("KindsIn(%b) = %v, want %v", g, got, want)
		}
	}
	if !IsA("CronJob", Workloads|JobLike) || IsA("CronJob", RolledOut) || IsA("Pod", Workloads) {
		t.Error("IsA disagrees with the table")
	}
}

// Every row carries what its groups promise: a workload its typed field,
// its template path and its owned fields, rolled out or run to completion
// but not both; a related kind its Snapshot slice.
func TestKindTableRows(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range KindTable {
		if seen[k.Name()] || seen[k.Resource] {
			t.Errorf("%s: kind or resource listed twice", k.Name())
		}
		seen[k.Name()], seen[k.Resource] = true, true
		if plural, _ := meta.UnsafeGuessKindToResource(k.GVK); k.Resource != plural.Resource {
			t.Errorf("%s: resource %q is not the kind's plural", k.Name(), k.Resource)
		}
		if k.In(Workloads) {
			if k.bind == nil || !k.inPlace || len(k.TemplatePath) == 0 || k.In(Related) {
				t.Errorf("%s: a workload needs bind, inPlace and a template path, and is not related", k.Name())
			}
			if k.In(RolledOut) == k.In(JobLike) {
				t.Errorf("%s: a workload is either rolled out or job-like", k.Name())
			}
			if (k.listWorkloads == nil) != (k.Name() == "Job") {
				t.Errorf("%s: every workload but Job is listed by kind", k.Name())
			}
		}
		if k.In(Related) != (k.carried != nil) {
			t.Errorf("%s: a related kind, and only one, has a Snapshot slice", k.Name())
		}
		if k.In(Companion) && !k.In(Related) {
			t.Errorf("%s: a companion must be related, for Project", k.Name())
		}
	}
}

// The resources an audit lists: the workloads come from the table, the
// order is the one `kubectl get` and the RBAC docs read.
func TestListedResourcesOrder(t *testing.T) {
	want := []string{"nodes", "priorityclasses", "clusterrolebindings", "namespaces",
		"deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "pods",
		"poddisruptionbudgets", "services", "horizontalpodautoscalers", "networkpolicies",
		"limitranges", "resourcequotas", "rolebindings", "serviceaccounts",
		"leases", "persistentvolumeclaims",
		"ingressclasses", "ingresses", "validatingwebhookconfigurations", "mutatingwebhookconfigurations"}
	if !slices.Equal(ListedResources, want) {
		t.Errorf("ListedResources = %v\nwant %v", ListedResources, want)
	}
}

func TestCanonicalKind(t *testing.T) {
	for word, want := range map[string]string{
		"deploy": "Deployment", "Deployments": "Deployment", "STS": "StatefulSet", "daemonset": "DaemonSet",
		"ds": "DaemonSet", "jobs": "Job", "cj": "CronJob", "CronJob": "CronJob",
		"pod": "", "service": "", "poddisruptionbudget": "", "": "",
	} {
		if got := CanonicalKind(word); got != want {
			t.Errorf("CanonicalKind(%q) = %q, want %q", word, got, want)
		}
		if KindNamed(word) != (want != "") {
			t.Errorf("KindNamed(%q) = %v", word, !(want != ""))
		}
	}
}

func TestNewWorkloadKinds(t *testing.T) {
	for _, kind := range KindsIn(Workloads) {
		k := KindOf(kind)
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetGroupVersionKind(k.GVK)
		u.SetName("web")
		w, err := NewWorkload(u)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if w.PodTemplate() == nil || !slices.Equal(w.PodTemplatePath(), k.TemplatePath) {
			t.Errorf("%s: pod template not bound to its typed field", kind)
		}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}}}
	_, err := NewWorkload(u)
	want := "Pod/p is a Pod: kubectl harden works on deployments, statefulsets, daemonsets, jobs and cronjobs"
	if err == nil || err.Error() != want {
		t.Errorf("NewWorkload(Pod) = %v, want %q", err, want)
	}
}

func TestRelatedObjects(t *testing.T) {
	s := &Snapshot{}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	hpa.Spec.MaxReplicas = 5
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(hpa)
	if err != nil {
		t.Fatal(err)
	}
	m["kind"] = "HorizontalPodAutoscaler"
	if err := s.AddRelated(&unstructured.Unstructured{Object: m}); err != nil || len(s.HPAs) != 1 {
		t.Fatalf("AddRelated: %v, %d HPAs", err, len(s.HPAs))
	}
	if err := s.AddRelated(&unstructured.Unstructured{Object: map[string]any{"kind": "Pod"}}); err == nil {
		t.Error("AddRelated(Pod): no error")
	}
	u, err := s.RelatedObject("HorizontalPodAutoscaler", "web")
	if err != nil || u == nil || u.GetAPIVersion() != "autoscaling/v2" || u.GetKind() != "HorizontalPodAutoscaler" {
		t.Fatalf("RelatedObject = %v, %v", u, err)
	}
	if u, _ := s.RelatedObject("HorizontalPodAutoscaler", "api"); u != nil {
		t.Errorf("RelatedObject(api) = %v, want nil", u)
	}

	// Projections copy the slice: the snapshot projected from keeps its own.
	out := *s
	err = out.ProjectRelated("HorizontalPodAutoscaler", "web", false, func(into any) error {
		into.(*autoscalingv2.HorizontalPodAutoscaler).Spec.MaxReplicas = 9
		return nil
	})
	if err != nil || out.HPAs[0].Spec.MaxReplicas != 9 || s.HPAs[0].Spec.MaxReplicas != 5 {
		t.Errorf("ProjectRelated(HPA): %v; projected %d, original %d", err, out.HPAs[0].Spec.MaxReplicas, s.HPAs[0].Spec.MaxReplicas)
	}
	mu := intstr.FromInt32(1)
	err = out.ProjectRelated("PodDisruptionBudget", "web", true, func(into any) error {
		into.(*policyv1.PodDisruptionBudget).Spec.MaxUnavailable = &mu
		return nil
	})
	if err != nil || len(out.PDBs) != 1 || len(s.PDBs) != 0 {
		t.Errorf("ProjectRelated(create PDB): %v; %d PDBs, original %d", err, len(out.PDBs), len(s.PDBs))
	}
	// A PDB or Service is never changed in place; a Pod is not carried.
	for _, c := range []struct {
		kind   string
		create bool
	}{{"PodDisruptionBudget", false}, {"Service", true}, {"Pod", true}} {
		if err := out.ProjectRelated(c.kind, "web", c.create, func(any) error { return nil }); err == nil {
			t.Errorf("ProjectRelated(%s, create %v): no error", c.kind, c.create)
		}
	}
}

func TestChangedInPlace(t *testing.T) {
	for kind, want := range map[string]bool{"Deployment": true, "CronJob": true, "HorizontalPodAutoscaler": true, "PodDisruptionBudget": false, "NetworkPolicy": false} {
		if got := KindOf(kind).ChangedInPlace(); got != want {
			t.Errorf("%s: ChangedInPlace %v, want %v", kind, got, want)
		}
	}
}
