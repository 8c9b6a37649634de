// Package rulestest runs a rule's table tests from testdata fixtures: a
// failure*.yaml holds a workload and the live objects around it (pods,
// Services, PDBs, HPAs, nodes, PriorityClasses, the namespace's other
// workloads after the first…); the matching fixed*.yaml
// holds every object the fix creates or changes, as it must end up.
package rulestest

import (
	"bufio"
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Updating reports -update: rewrite fixed*.yaml (and other golden files)
// from the current output. The flag is shared with any other test helper
// that defines it first, such as teatest's golden package.
func Updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite fixed*.yaml and golden files from the current output")
	}
}

// Case is one fixture.
type Case struct {
	Name    string
	Failure string // testdata file with the workload and its surroundings
	// Fixed is the expected result of fixing every finding of the rule;
	// empty when the rule must find nothing (a passing fixture) or when
	// every finding needs a human.
	Fixed string
	// Findings are substrings of the expected messages, one per finding.
	Findings []string
	// NeedsHuman lists substrings of the reasons of the needs-human
	// findings (Finding.NeedsHuman or a NeedsHumanError from Fix), in order.
	NeedsHuman []string
	Params     rules.Params
}

// Run runs the cases for one rule: Check finds what is expected, the fix
// produces the fixed objects, and on the fixed state the rule finds nothing
// and plans nothing (idempotent).
func Run(t *testing.T, rule rules.Rule, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { runCase(t, rule, tc) })
	}
}

// runCase runs one fixture, phase by phase: findings, needs-human
// reasons, the plan against fixed*.yaml, idempotence. The phases are not
// test helpers, so that a failure names the line of its assertion.
func runCase(t *testing.T, rule rules.Rule, tc Case) {
	id := rule.Meta().ID
	s := Load(t, tc.Failure)
	checkFindings(t, id, rules.Check(rule, s), tc.Findings)
	sel := rules.Selection{Fix: []string{id}, Params: map[string]rules.Params{id: tc.Params}}
	live := s.Workload.Object.DeepCopy()
	results := evaluate(t, s, sel)
	if !equality.Semantic.DeepEqual(live, s.Workload.Object) {
		t.Error("evaluating changed the live workload (projections must copy what they change)")
	}
	checkProjections(t, s, results)
	checkNeedsHuman(t, id, results, tc.NeedsHuman)
	p, err := plan.Build(s, results, plan.DefaultFieldManager)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Fixed == "" {
		if !p.Empty() {
			t.Fatalf("expected no change, plan:\n%s", p.Diff())
		}
		return
	}
	checkFixed(t, p, tc.Fixed)
	checkIdempotent(t, rule, sel, tc)
}

// checkFindings compares the rule's findings with want, substrings of the
// messages in order, and checks that each carries its rule ID, a severity
// and a category. A count that differs stops the case.
func checkFindings(t *testing.T, id string, findings []rules.Finding, want []string) {
	if len(findings) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(findings), len(want), findings)
	}
	for i, f := range findings {
		if !strings.Contains(f.Message, want[i]) {
			t.Errorf("finding %d: %q does not contain %q", i, f.Message, want[i])
		}
		if f.Rule != id || f.Severity == 0 || f.Category == "" {
			t.Errorf("finding %d lacks rule, severity or category: %+v", i, f)
		}
	}
}

// checkProjections checks that projecting each planned change to the
// workload (Workload.Merged, which converts only the fields a change
// names) gives the typed object a whole conversion of the merged object
// gives.
func checkProjections(t *testing.T, s *inspect.Snapshot, results []rules.Result) {
	for _, r := range results {
		if r.Fix == nil {
			continue
		}
		for _, c := range r.Fix.Changes {
			if c.Create || c.Object["kind"] != s.Workload.Kind() {
				continue
			}
			got, err := s.Workload.Merged(c.Object)
			if err != nil {
				t.Fatalf("%s: projecting %v: %v", r.Rule, c.Object, err)
			}
			want, err := inspect.NewWorkload(got.Object.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			got.Object, want.Object = nil, nil
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("%s: the projected typed object differs from a whole conversion of the merged object", r.Rule)
			}
		}
	}
}

// evaluate is rules.Evaluate; an error stops the case.
func evaluate(t *testing.T, s *inspect.Snapshot, sel rules.Selection) []rules.Result {
	results, err := rules.Evaluate(s, sel)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// checkNeedsHuman compares the reasons of rule id's needs-human results
// with want, substrings in order. Only the rule's own: other rules'
// findings (not selected) may need a human too. A count that differs
// stops the case.
func checkNeedsHuman(t *testing.T, id string, results []rules.Result, want []string) {
	var manual []string
	for _, r := range results {
		if r.Rule == id && r.Status == rules.StatusNeedsHuman {
			manual = append(manual, r.Reason)
		}
	}
	if len(manual) != len(want) {
		t.Fatalf("%d findings need a human, want %d: %q", len(manual), len(want), manual)
	}
	for i := range manual {
		if !strings.Contains(manual[i], want[i]) {
			t.Errorf("manual reason %q does not contain %q", manual[i], want[i])
		}
	}
}

// checkFixed checks that every planned object has an RFC 6902 patch and
// that the objects as they end up are the file fixed (rewritten first
// under -update). A missing file stops the case.
func checkFixed(t *testing.T, p *plan.Plan, fixed string) {
	for _, o := range p.Objects {
		if _, err := o.Patch(); err != nil {
			t.Errorf("RFC 6902 patch: %v", err)
		}
	}
	got := render(p)
	if Updating() {
		if err := os.WriteFile(fixed, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(fixed)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("fixed objects differ from %s (go test -update rewrites it):\n%s", fixed, p.Diff())
	}
}

// checkIdempotent loads the failure fixture with the fixed objects over
// it: the rule is satisfied (only the needs-human findings remain) and a
// second run plans nothing.
func checkIdempotent(t *testing.T, rule rules.Rule, sel rules.Selection, tc Case) {
	fixed := Load(t, tc.Failure, tc.Fixed)
	if f := rules.Check(rule, fixed); len(f) != len(tc.NeedsHuman) {
		t.Errorf("after the fix, %d findings, want %d (those needing a human): %+v", len(f), len(tc.NeedsHuman), f)
	}
	results := evaluate(t, fixed, sel)
	if p2, err := plan.Build(fixed, results, plan.DefaultFieldManager); err != nil || !p2.Empty() {
		t.Errorf("second run is not a no-op (%v):\n%s", err, p2.Diff())
	}
}

// render writes the plan's objects as they end up, as a multi-document YAML.
func render(p *plan.Plan) string {
	var docs []string
	for _, o := range p.Objects {
		docs = append(docs, plan.YAML(o.After))
	}
	return strings.Join(docs, "---\n")
}

// Load reads fixture files into a Snapshot; objects in later files replace
// earlier ones of the same kind and name.
func Load(t testing.TB, files ...string) *inspect.Snapshot {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, f := range files {
		objs = replace(objs, read(t, f))
	}
	s, _ := decode(t, objs)
	if s.Workload == nil {
		t.Fatalf("fixture %v has no workload", files)
	}
	if s.Namespace == nil {
		s.Namespace = &corev1.Namespace{}
		s.Namespace.Name = s.Workload.Namespace()
	}
	s.KeepRelated()
	return s
}

// decode sorts fixture objects into a Snapshot (ResourceQuotas, which only
// namespace rules read, aside): workloads and related kinds as
// inspect.KindTable says, the others by kind.
func decode(t testing.TB, objs []*unstructured.Unstructured) (*inspect.Snapshot, []corev1.ResourceQuota) {
	t.Helper()
	// No webhook, APIService or monitor unless the fixture has one: known, none.
	s := &inspect.Snapshot{Cluster: &inspect.Cluster{Context: "fixture",
		Traffic: inspect.TrafficSources{APIServerCalls: []inspect.APIServerCall{}, Monitors: []inspect.Monitor{}}}}
	var quotas []corev1.ResourceQuota
	for _, u := range objs {
		var err error
		switch {
		case inspect.IsA(u.GetKind(), inspect.Workloads):
			err = decodeWorkload(s, u)
		case inspect.IsA(u.GetKind(), inspect.Related):
			// Services, PDBs, HPAs, NetworkPolicies…: KeepRelated keeps
			// those of the workload.
			err = s.AddRelated(u)
		default:
			err = decodeOther(t, s, &quotas, u)
		}
		if err != nil {
			t.Fatalf("fixture %s/%s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	return s, quotas
}

// decodeWorkload adds a fixture workload: the first is the one hardened;
// the others are its neighbours, as the Reader lists them.
func decodeWorkload(s *inspect.Snapshot, u *unstructured.Unstructured) error {
	if u.GetNamespace() == "" {
		u.SetNamespace("default")
	}
	w, err := inspect.NewWorkload(u)
	if err != nil {
		return err
	}
	s.Neighbourhood = append(s.Neighbourhood, inspect.WorkloadNeighbour(w))
	if s.Workload == nil {
		s.Workload = w
	}
	return nil
}

// decodeOther adds a fixture object of a kind the table of kinds does not
// carry: the namespace, pods, cluster objects, traffic sources.
func decodeOther(t testing.TB, s *inspect.Snapshot, quotas *[]corev1.ResourceQuota, u *unstructured.Unstructured) error {
	t.Helper()
	switch u.GetKind() {
	case "Namespace":
		s.Namespace = &corev1.Namespace{}
		return convert(u, s.Namespace)
	case "Pod":
		return appendAs(u, &s.Pods)
	case "PriorityClass":
		return appendAs(u, &s.Cluster.PriorityClasses)
	case "ServiceAccount":
		s.ServiceAccount = &corev1.ServiceAccount{}
		return convert(u, s.ServiceAccount)
	case "ClusterRoleBinding":
		return appendAs(u, &s.Cluster.ClusterRoleBindings)
	case "ResourceQuota":
		return appendAs(u, quotas)
	case "Node":
		s.Cluster.Nodes = append(s.Cluster.Nodes, inspect.Node{Name: u.GetName(), Zone: u.GetLabels()[inspect.ZoneLabel], Ready: true})
		return nil
	}
	known, err := decodeTraffic(s, u)
	if !known {
		t.Fatalf("fixture: unsupported kind %s", u.GetKind())
	}
	return err
}

func replace(objs, with []*unstructured.Unstructured) []*unstructured.Unstructured {
	for _, w := range with {
		found := false
		for i, o := range objs {
			if o.GetKind() == w.GetKind() && o.GetName() == w.GetName() {
				objs[i], found = w, true
			}
		}
		if !found {
			objs = append(objs, w)
		}
	}
	return objs
}

func read(t testing.TB, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := dec.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(bytes.TrimSpace(j)) == 0 || string(bytes.TrimSpace(j)) == "null" {
			continue
		}
		var m map[string]any
		if err := utiljson.Unmarshal(j, &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func convert(u *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}

// YAML renders a partial object, for messages.
func YAML(obj map[string]any) string { return plan.YAML(obj) }

// NamespaceCase is one fixture of a namespace rule.
type NamespaceCase struct {
	Name     string
	Fixture  string   // a Namespace and its pods, policies, quotas…
	Findings []string // substrings of the expected messages
}

// RunNamespace runs a namespace rule's fixtures.
func RunNamespace(t *testing.T, rule rules.NamespaceRule, cases []NamespaceCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			decoded, quotas := decode(t, read(t, tc.Fixture))
			s := &inspect.NamespaceSnapshot{Namespace: decoded.Namespace, Pods: decoded.Pods, NetworkPolicies: decoded.NetworkPolicies,
				LimitRanges: decoded.LimitRanges, ResourceQuotas: quotas}
			if decoded.Workload != nil {
				s.Workloads, s.Templates = 1, []corev1.PodTemplateSpec{*decoded.Workload.PodTemplate()}
			}
			findings := rules.CheckNamespace(rule, s)
			if len(findings) != len(tc.Findings) {
				t.Fatalf("%d findings, want %d: %+v", len(findings), len(tc.Findings), findings)
			}
			for i, f := range findings {
				if !strings.Contains(f.Message, tc.Findings[i]) || f.NeedsHuman == "" || f.Rule != rule.Meta().ID {
					t.Errorf("finding %d: %+v, want message with %q and a remediation for a human", i, f, tc.Findings[i])
				}
			}
		})
	}
}

// appendAs converts a fixture object to T and appends it to list.
func appendAs[T any](u *unstructured.Unstructured, list *[]T) error {
	var v T
	err := convert(u, &v)
	*list = append(*list, v)
	return err
}

// Result evaluates the fixture files with the selection and returns the
// one result of rule id; the test fails unless there is exactly one.
func Result(t *testing.T, sel rules.Selection, id string, files ...string) rules.Result {
	t.Helper()
	results, err := rules.Evaluate(Load(t, files...), sel)
	if err != nil {
		t.Fatal(err)
	}
	var out []rules.Result
	for _, r := range results {
		if r.Rule == id {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%v --fix=%s: %d %s results, want 1", files, strings.Join(sel.Fix, ","), len(out), id)
	}
	return out[0]
}

// WorkloadFixtures loads each fixture file pattern (filepath.Glob) names
// that holds a workload (namespace rules' fixtures hold none), e.g. every
// plugin's failure*.yaml. No file matched stops the test.
func WorkloadFixtures(t testing.TB, pattern string) []*inspect.Snapshot {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures %s: %v", pattern, err)
	}
	workload := regexp.MustCompile(`(?m)^kind: (` + strings.Join(inspect.KindsIn(inspect.Workloads), "|") + `)$`)
	var out []*inspect.Snapshot
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if workload.Match(data) {
			out = append(out, Load(t, f))
		}
	}
	return out
}
