package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/networkpolicy/flowcheck"
)

// Issue #14's acceptance: each corpus app, deployed as published with
// plain kubectl apply, then `audit --fix=all --yes --force-conflicts` (the
// strongest run: even the fields the manifest owns are taken). kwok runs
// no container, so what keeps the app working is checked on the written
// spec: every flow the app needs is admitted by the NetworkPolicies the
// API server holds and a flow nobody needs is denied (the cyclonus
// evaluator), no singleton is scaled, no explicit user or group ID is
// changed, and every planned fix said where its numbers come from.
func TestCorpusDoNoHarm(t *testing.T) {
	apps := []struct {
		name  string
		files []string
		// singletons must keep their replicas.
		singletons []string
		flows      func(ns string, pod func(string) *flowcheck.Pod) flowcheck.App
	}{
		{name: "online-boutique", files: []string{"online-boutique/kubernetes-manifests.yaml"}, singletons: []string{"redis-cart"},
			flows: func(_ string, pod func(string) *flowcheck.Pod) flowcheck.App { return flowcheck.OnlineBoutique(pod) }},
		{name: "guestbook", files: []string{"guestbook/guestbook-all-in-one.yaml"}, singletons: []string{"redis-master"},
			flows: func(_ string, pod func(string) *flowcheck.Pod) flowcheck.App { return flowcheck.Guestbook(pod) }},
		{name: "cassandra", files: []string{"cassandra/cassandra-service.yaml", "cassandra/cassandra-statefulset.yaml"},
			flows: func(ns string, pod func(string) *flowcheck.Pod) flowcheck.App {
				client := &flowcheck.Pod{Name: "cqlsh", Namespace: ns, Labels: map[string]string{"app": "cqlsh"}}
				return flowcheck.Cassandra(pod, client)
			}},
	}
	for _, app := range apps {
		t.Run(app.name, func(t *testing.T) {
			t.Parallel()
			ns := newNamespace(t)
			if app.name == "cassandra" {
				claimVolumes(t, ns, "cassandra-data-cassandra", 3)
			}
			args := []string{"apply", "-n", ns}
			for _, f := range app.files {
				args = append(args, "-f", corpus(t, f))
			}
			kubectl(t, args...)
			before := identities(t, ns)
			previewSourcesShown(t, ns)

			// minReadySeconds (the rollout rule) only slows the 12 rollouts
			// of the boutique down one after another.
			r := harden(t, "audit", "-n", ns, "--fix=all", "--skip=rollout", "--yes", "--force-conflicts", "--timeout=2m")
			if r.code > 1 {
				t.Fatalf("audit --fix=all: %s", r)
			}

			after := identities(t, ns)
			for w, id := range before {
				if id.explicit() && after[w].ids() != id.ids() {
					t.Errorf("%s: explicit identity %s changed to %s", w, id.ids(), after[w].ids())
				}
			}
			for _, name := range app.singletons {
				if d := deployment(t, ns, name); d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
					t.Errorf("singleton %s scaled to %v", name, *d.Spec.Replicas)
				}
			}
			if !checkFlows(t, ns, app.flows) {
				t.Logf("audit --fix=all:\n%s", r)
			}
		})
	}
}

// claimVolumes binds the StatefulSet's claims (prefix-0…n-1) to
// PersistentVolumes made for them: no provisioner runs here.
func claimVolumes(t *testing.T, ns, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", ns, i)},
			Spec: corev1.PersistentVolumeSpec{
				StorageClassName: "fast", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}},
				ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: fmt.Sprintf("%s-%d", prefix, i)},
			},
		}
		if _, err := env.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = env.client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
		})
	}
}

// identity is a pod template's user, group and fsGroup, pod and
// containers, as written ("" for unset).
type identity struct{ pod, containers string }

func (i identity) ids() string { return i.pod + " " + i.containers }

// explicit reports whether the manifest set a non-root user ID somewhere.
func (i identity) explicit() bool { return regexp.MustCompile(`runAsUser=[1-9]`).MatchString(i.ids()) }

func identities(t *testing.T, ns string) map[string]identity {
	t.Helper()
	ctx := context.Background()
	out := map[string]identity{}
	add := func(ref string, spec corev1.PodSpec) {
		var id identity
		if sc := spec.SecurityContext; sc != nil {
			id.pod = fmt.Sprintf("runAsUser=%s runAsGroup=%s fsGroup=%s", ptr(sc.RunAsUser), ptr(sc.RunAsGroup), ptr(sc.FSGroup))
		}
		for _, c := range spec.Containers {
			if sc := c.SecurityContext; sc != nil {
				id.containers += fmt.Sprintf("%s:runAsUser=%s runAsGroup=%s ", c.Name, ptr(sc.RunAsUser), ptr(sc.RunAsGroup))
			}
		}
		out[ref] = id
	}
	deps, err := env.client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		add("deploy/"+d.Name, d.Spec.Template.Spec)
	}
	stss, err := env.client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stss.Items {
		add("sts/"+s.Name, s.Spec.Template.Spec)
	}
	return out
}

func ptr(p *int64) string {
	if p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}

// sourceWords are how a fix's description says where a number comes
// from: observed usage, a LimitRange, the user, a Service or a declared
// port, an existing probe's tolerance, a default.
var sourceWords = regexp.MustCompile(`observed|LimitRange|user|Service|declared|tolerance|default|containerPort|port \w+`)

// previewSourcesShown previews --fix=all on each workload (-o json): every
// planned fix has a description, and those of the rules that pick numbers
// (probes, resources) name their source. Without usage data, the
// resources rule writes nothing and suggests a starting point.
func previewSourcesShown(t *testing.T, ns string) {
	t.Helper()
	for ref := range identities(t, ns) {
		doc, _ := hardenReport(t, ref, "-n", ns, "--fix=all")
		for _, f := range doc.Workloads[0].Findings {
			switch {
			case f.Status == rules.StatusPlanned && (f.Fix == nil || f.Fix.Description == ""):
				t.Errorf("%s: %s planned without a description", ref, f.Rule)
			case f.Status == rules.StatusPlanned && strings.Contains(f.Rule, "probe") && !sourceWords.MatchString(f.Fix.Description):
				t.Errorf("%s: %s: no source for its numbers in %q", ref, f.Rule, f.Fix.Description)
			case f.Rule == "resources" && f.Status == rules.StatusPlanned:
				t.Errorf("%s: resources sized without usage data (no metrics.k8s.io here): %q", ref, f.Fix.Description)
			case f.Rule == "resources" && f.Status == rules.StatusNeedsHuman && !strings.Contains(f.Reason, "e.g."):
				t.Errorf("%s: resources left to a human without a starting point: %q", ref, f.Reason)
			}
		}
	}
}

// checkFlows evaluates the namespace's NetworkPolicies, as the API server
// holds them, against the app's flows.
// It reports whether all was well.
func checkFlows(t *testing.T, ns string, flows func(string, func(string) *flowcheck.Pod) flowcheck.App) bool {
	t.Helper()
	ctx := context.Background()
	pods := map[string]*flowcheck.Pod{}
	deps, err := env.client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		pods[d.Name] = flowcheck.PodOf(d.Name, ns, d.Spec.Template)
	}
	stss, err := env.client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stss.Items {
		pods[s.Name] = flowcheck.PodOf(s.Name, ns, s.Spec.Template)
	}
	l, err := env.client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var policies []*networkingv1.NetworkPolicy
	for i := range l.Items {
		policies = append(policies, &l.Items[i])
	}
	// The boutique's loadgenerator declares no port and no Service
	// selects it: its fix asks which ports to admit.
	want := len(pods)
	if pods["loadgenerator"] != nil {
		want--
	}
	if len(policies) != want {
		t.Errorf("%d NetworkPolicies (%s) for %d workloads with clients", len(policies), flowcheck.Names(policies), want)
	}
	pod := func(name string) *flowcheck.Pod {
		p, ok := pods[name]
		if !ok {
			t.Fatalf("no workload %s", name)
		}
		return p
	}
	app := flows(ns, pod)
	wrong := flowcheck.New(policies).Check(app.Allowed, app.Denied)
	for _, w := range wrong {
		t.Error(w)
	}
	return len(wrong) == 0 && len(policies) == want
}
