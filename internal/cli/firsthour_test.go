package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// --color and --set are checked like the other flags: one error, naming
// the whole flag value and, for a misspelt rule, the closest rule ID.
func TestHardenValidateColorAndSet(t *testing.T) {
	valid := func() *HardenOptions {
		o := NewHardenOptions(nil, genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
		o.session = &session{targets: inspect.Targets{Args: []string{"deploy/web"}}}
		return o
	}
	for _, tc := range []struct {
		name string
		edit func(*HardenOptions)
		want string // "" when valid
	}{
		{"defaults", func(o *HardenOptions) {}, ""},
		{"color always", func(o *HardenOptions) { o.Color = "always" }, ""},
		{"color sometimes", func(o *HardenOptions) { o.Color = "sometimes" }, `--color must be "auto", "always" or "never", got "sometimes"`},
		{"set known", func(o *HardenOptions) { o.Set = []string{"readiness-probe.path=/"} }, ""},
		{"set typo", func(o *HardenOptions) { o.Set = []string{"readines-probe.path=/x"} },
			`--set readines-probe.path=/x: unknown rule "readines-probe" (did you mean readiness-probe?)`},
		{"set far", func(o *HardenOptions) { o.Set = []string{"zzz.path=/x"} }, `--set zzz.path=/x: unknown rule "zzz" (see kubectl harden rules)`},
		{"set unknown param", func(o *HardenOptions) { o.Set = []string{"readiness-probe.paht=/x"} }, `rule readiness-probe has no parameter "paht"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(o)
			var err error
			if o.selection, err = parseSelection(o.Fix, o.Skip, o.Set); err == nil {
				err = o.Validate()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestClosestRule(t *testing.T) {
	for word, want := range map[string]string{
		"readines-probe":  "readiness-probe",
		"Readiness-Probe": "readiness-probe",
		"pbd":             "pdb",
		"replica":         "replicas",
		"probes":          "", // an alias, not a rule: too far from every ID
		"nothing-near":    "",
	} {
		if got := closestRule(word); got != want {
			t.Errorf("closestRule(%q) = %q, want %q", word, got, want)
		}
	}
}

// A --set for a rule that plans no fix on a workload is said, once per
// parameter, naming the workloads; one used everywhere says nothing.
func TestUnusedSets(t *testing.T) {
	res := func(rule string, st rules.Status) rules.Result {
		return rules.Result{Finding: rules.Finding{Rule: rule}, Status: st}
	}
	web := fixedOn{Ref: "deployment/web", Results: []rules.Result{res("readiness-probe", rules.StatusFixed), res("pdb", rules.StatusNeedsHuman)}}
	api := fixedOn{Ref: "deployment/api", Results: []rules.Result{res("readiness-probe", rules.StatusNotSelected)}}
	got := unusedSets([]string{"readiness-probe.path=/", "readiness-probe.path=/x", "pdb.min-available=1", "replicas.count=3"}, []fixedOn{web, api})
	want := []string{
		"--set readiness-probe.path: unused, readiness-probe has nothing to fix on deployment/api",
		"--set pdb.min-available: unused, pdb has nothing to fix on deployment/web, deployment/api",
		"--set replicas.count: unused, replicas has nothing to fix on deployment/web, deployment/api",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unusedSets:\n%q\nwant:\n%q", got, want)
	}
	if got := unusedSets([]string{"readiness-probe.path=/"}, []fixedOn{web}); len(got) != 0 {
		t.Errorf("a used --set is reported: %q", got)
	}
}

// -o diff and audit --fix say why each chosen rule needs a human, as the
// text report does; rules not chosen say nothing.
func TestNeedsHuman(t *testing.T) {
	results := []rules.Result{
		{Finding: rules.Finding{Rule: "pdb"}, Status: rules.StatusNeedsHuman, Reason: "fix replicas first: --fix=replicas,pdb"},
		{Finding: rules.Finding{Rule: "spread"}, Status: rules.StatusNeedsHuman, Reason: "zones unknown"},
		{Finding: rules.Finding{Rule: "replicas"}, Status: rules.StatusPlanned},
	}
	got := needsHuman(rules.Selection{Fix: []string{"replicas", "pdb"}}, results)
	want := []string{"pdb: needs a human: fix replicas first: --fix=replicas,pdb"}
	if !slices.Equal(got, want) {
		t.Errorf("needsHuman: %q, want %q", got, want)
	}
	if got := needsHuman(rules.Selection{Fix: []string{"all"}, Skip: []string{"spread"}}, results); len(got) != 1 {
		t.Errorf("--skip=spread: %q", got)
	}
}

// A refused dry-run is told once per run, in one line naming what was
// refused and what was not checked; only a run that writes nothing and
// did not ask for the server's check may plan offline.
func TestRefusedDryRunWarning(t *testing.T) {
	var out bytes.Buffer
	var once refusedOnce
	once.tell(&out, "")
	once.tell(&out, "patch deployments")
	once.tell(&out, "patch poddisruptionbudgets")
	want := "warning: the API server's dry-run was refused (forbidden: patch deployments): planned offline, not checked by admission or field ownership — a user with patch rights can check it with --dry-run=server\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	for _, tc := range []struct {
		dryRun string
		yes    bool
		want   bool
	}{{"none", false, true}, {"none", true, false}, {"server", false, false}, {"server", true, false}, {"client", false, false}} {
		if got := offlineIfRefused(tc.dryRun, tc.yes); got != tc.want {
			t.Errorf("offlineIfRefused(%q, %v) = %v", tc.dryRun, tc.yes, got)
		}
	}
}

// -o completes kustomize= and then the directories; --set completes
// RULE.PARAM= from the registry, never file names.
func TestOutputAndSetCompletion(t *testing.T) {
	const nospace = 4 | 2 // NoFileComp | NoSpace
	got, dir := outputCompletion(nil, nil, "")
	if !slices.Contains(got, "kustomize=") || !slices.Contains(got, "patch") || dir != nospace {
		t.Errorf("-o: %q %v", got, dir)
	}
	if got, _ := outputCompletion(nil, nil, "ku"); !slices.Equal(got, []string{"kustomize="}) {
		t.Errorf("-o ku: %q", got)
	}
	tmp := t.TempDir()
	for _, d := range []string{"overlay", "other", ".hidden"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "ofile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(tmp)
	if got, _ := outputCompletion(nil, nil, "kustomize=o"); !slices.Equal(got, []string{"kustomize=other/", "kustomize=overlay/"}) {
		t.Errorf("-o kustomize=o: %q", got)
	}
	if got, _ := outputCompletion(nil, nil, "kustomize=overlay/"); len(got) != 0 {
		t.Errorf("-o kustomize=overlay/ (empty): %q", got)
	}

	words := func(toComplete string) []string {
		got, dir := setCompletion(nil, nil, toComplete)
		if dir != nospace {
			t.Errorf("--set %q: directive %v", toComplete, dir)
		}
		var out []string
		for _, c := range got {
			w, _, _ := strings.Cut(c, "\t")
			out = append(out, w)
		}
		return out
	}
	if got := words("readiness-probe.p"); !slices.Equal(got, []string{"readiness-probe.path=", "readiness-probe.period=", "readiness-probe.port="}) {
		t.Errorf("--set readiness-probe.p: %q", got)
	}
	all := words("")
	for _, r := range rules.All() {
		for _, p := range r.Meta().Params {
			if !slices.Contains(all, r.Meta().ID+"."+p.Name+"=") {
				t.Errorf("--set lacks %s.%s=", r.Meta().ID, p.Name)
			}
		}
	}
	if got, _ := setCompletion(nil, nil, "readiness-probe.path=/"); len(got) != 0 {
		t.Errorf("a value is completed: %q", got)
	}
}

// audit -A names the first refused LIST in ListedResources' order,
// whichever refusal came back first; optional reads and kinds not audited
// are never named.
func TestFirstRefusedList(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, r := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "namespaces"}, {Version: "v1", Resource: "nodes"}, {Version: "v1", Resource: "pods"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Group: "apps", Version: "v1", Resource: "statefulsets"},
		{Group: "batch", Version: "v1", Resource: "cronjobs"}, {Group: "batch", Version: "v1", Resource: "jobs"},
	} {
		kind := strings.ToUpper(r.Resource[:1]) + strings.TrimSuffix(r.Resource[1:], "s")
		mapper.Add(r.GroupVersion().WithKind(kind), meta.RESTScopeNamespace)
	}
	refused := func(allowed ...string) *fake.Clientset {
		c := fake.NewSimpleClientset()
		c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
			review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
			review.Status.Allowed = slices.Contains(allowed, review.Spec.ResourceAttributes.Resource)
			return true, review, nil
		})
		return c
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "cronjobs"}, "", errors.New("no"))
	cw := &inspect.ClusterWideError{Resource: "cronjobs", Err: forbidden}
	all := inspect.Scope{Kinds: map[string]bool{"Deployment": true, "StatefulSet": true, "CronJob": true}}
	ctx := context.Background()
	name := func(err error) string {
		var got *inspect.ClusterWideError
		if !errors.As(err, &got) {
			t.Fatalf("not a ClusterWideError: %v", err)
		}
		if !apierrors.IsForbidden(err) {
			t.Errorf("%v is no longer Forbidden", err)
		}
		return got.Resource
	}
	if got := name(firstRefusedList(ctx, refused(), mapper, all, cw)); got != "namespaces" {
		t.Errorf("nothing allowed: %s, want namespaces", got)
	}
	if got := name(firstRefusedList(ctx, refused("namespaces"), mapper, all, cw)); got != "deployments" {
		t.Errorf("namespaces allowed: %s, want deployments", got)
	}
	onlyCron := inspect.Scope{Kinds: map[string]bool{"CronJob": true}}
	if got := name(firstRefusedList(ctx, refused("namespaces"), mapper, onlyCron, cw)); got != "jobs" {
		t.Errorf("--kinds=CronJob: %s, want jobs (always listed, before cronjobs)", got)
	}
	if got := name(firstRefusedList(ctx, refused("namespaces", "jobs"), mapper, onlyCron, cw)); got != "cronjobs" {
		t.Errorf("--kinds=CronJob, jobs allowed: %s, want cronjobs", got)
	}
	other := errors.New("boom")
	if got := firstRefusedList(ctx, refused(), mapper, all, other); got != other {
		t.Errorf("another error is changed: %v", got)
	}
}
