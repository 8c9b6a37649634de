package flowcheck_test

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
	"github.com/kubectl-harden/kubectl-harden/plugins/networkpolicy/flowcheck"
)

// corpusDir holds the real apps nobody here wrote (../shared/corpus from
// the repository's root). The test lives here, not beside the rule's
// fixtures: it registers every rule (plugins/all), as --fix=all runs them.
var corpusDir = filepath.Join("..", "..", "..", "..", "shared", "corpus")

// Every corpus app, hardened with --fix=all as an audit would (a snapshot
// per workload, built offline as internal/inspect builds it: the Services of
// the namespace that select its pods), keeps every flow it needs and
// loses the flows nobody needs, as the cyclonus evaluator reads all the
// generated policies together.
func TestCorpusFlowsAfterFixAll(t *testing.T) {
	for _, tc := range []struct {
		app   string
		files []string
		flows func(pod func(string) *flowcheck.Pod, ns string) flowcheck.App
	}{
		{"online-boutique", []string{"online-boutique/kubernetes-manifests.yaml"},
			func(pod func(string) *flowcheck.Pod, _ string) flowcheck.App { return flowcheck.OnlineBoutique(pod) }},
		{"guestbook", []string{"guestbook/guestbook-all-in-one.yaml"},
			func(pod func(string) *flowcheck.Pod, _ string) flowcheck.App { return flowcheck.Guestbook(pod) }},
		{"cassandra", []string{"cassandra/cassandra-service.yaml", "cassandra/cassandra-statefulset.yaml"},
			func(pod func(string) *flowcheck.Pod, ns string) flowcheck.App {
				client := &flowcheck.Pod{Name: "cql-client", Namespace: ns, Labels: map[string]string{"app": "cql-client"}}
				return flowcheck.Cassandra(pod, client)
			}},
	} {
		t.Run(tc.app, func(t *testing.T) {
			ns := tc.app
			workloads, services := readCorpus(t, ns, tc.files)
			cluster := &inspect.Cluster{Context: "corpus", Traffic: inspect.TrafficSources{
				Namespaces: []string{"default", "elsewhere", "kube-system", ns}}}
			pods := map[string]*flowcheck.Pod{}
			var policies []*networkingv1.NetworkPolicy
			for _, w := range workloads {
				pods[w.Name()] = flowcheck.PodOf(w.Name(), ns, *w.PodTemplate())
				s := &inspect.Snapshot{Workload: w, Cluster: cluster, Services: services,
					Namespace: &corev1.Namespace{}}
				s.Namespace.Name = ns
				s.KeepRelated()
				results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
				if err != nil {
					t.Fatalf("%s: %v", w.Ref(), err)
				}
				policies = append(policies, createdPolicies(t, results)...)
			}
			if len(policies) == 0 {
				t.Fatal("--fix=all created no NetworkPolicy")
			}
			pod := func(name string) *flowcheck.Pod {
				p, ok := pods[name]
				if !ok {
					t.Fatalf("the corpus has no workload %s", name)
				}
				return p
			}
			app := tc.flows(pod, ns)
			wrong := flowcheck.New(policies).Check(app.Allowed, app.Denied)
			for _, w := range wrong {
				t.Error(w)
			}
			if len(wrong) > 0 {
				return
			}
			t.Logf("%d policies (%s): %d needed flows allowed, %d unneeded denied",
				len(policies), flowcheck.Names(policies), len(app.Allowed), len(app.Denied))
		})
	}
}

// readCorpus reads an app's manifests into the namespace: its workloads
// and its Services (other kinds are not read).
func readCorpus(t *testing.T, ns string, files []string) ([]*inspect.Workload, []corev1.Service) {
	t.Helper()
	var workloads []*inspect.Workload
	var services []corev1.Service
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(corpusDir, f))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := dec.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var u unstructured.Unstructured
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if u.Object == nil {
				continue
			}
			u.SetNamespace(ns)
			switch {
			case inspect.KindNamed(u.GetKind()):
				w, err := inspect.NewWorkload(&u)
				if err != nil {
					t.Fatal(err)
				}
				workloads = append(workloads, w)
			case u.GetKind() == "Service":
				var svc corev1.Service
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &svc); err != nil {
					t.Fatal(err)
				}
				services = append(services, svc)
			}
		}
	}
	return workloads, services
}

// createdPolicies are the NetworkPolicies the planned fixes create.
func createdPolicies(t *testing.T, results []rules.Result) []*networkingv1.NetworkPolicy {
	t.Helper()
	var out []*networkingv1.NetworkPolicy
	for _, r := range results {
		if r.Status != rules.StatusPlanned {
			continue
		}
		for _, c := range r.Fix.Changes {
			if c.Object["kind"] != "NetworkPolicy" {
				continue
			}
			np := &networkingv1.NetworkPolicy{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(c.Object, np); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Fix.Description, "admitting") {
				t.Errorf("%s: the description %q does not say what it admits", np.Name, r.Fix.Description)
			}
			out = append(out, np)
		}
	}
	return out
}
