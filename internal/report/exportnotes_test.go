package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// demoResults plans every fix for every workload of the demo shop and
// keeps each planned fix's rule, description and warnings with its plan.
func demoResults(t *testing.T) ([]*plan.Plan, [][]rules.Result) {
	t.Helper()
	snaps, _ := demoSnapshots(t)
	var (
		plans   []*plan.Plan
		results [][]rules.Result
	)
	for _, s := range snaps {
		res, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.Build(s, res, plan.DefaultFieldManager)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
		results = append(results, res)
	}
	return plans, results
}

// planned are the planned fixes of results that change o.
func planned(results []rules.Result, o *plan.Object) []rules.Result {
	var out []rules.Result
	for _, r := range results {
		if r.Status == rules.StatusPlanned && r.Fix != nil && slices.Contains(o.Rules, r.Rule) {
			for _, c := range r.Fix.Changes {
				md, _ := c.Object["metadata"].(map[string]any)
				if c.Object["kind"] == o.Kind && md["name"] == o.Name {
					out = append(out, r)
					break
				}
			}
		}
	}
	return out
}

func TestPatchesCarryFixes(t *testing.T) {
	plans, results := demoResults(t)
	entries, err := Patches(plans)
	if err != nil {
		t.Fatal(err)
	}
	// As a reviewer's jq reads them: .[].fixes[] {rule, description, warnings}.
	b, _ := json.Marshal(entries)
	var decoded []struct {
		Resource string `json:"resource"`
		Rules    []string
		Fixes    []struct {
			Rule        string   `json:"rule"`
			Description string   `json:"description"`
			Warnings    []string `json:"warnings"`
		} `json:"fixes"`
	}
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	i, warnings := 0, 0
	for pi, p := range plans {
		for _, o := range p.Objects {
			e := decoded[i]
			i++
			want := planned(results[pi], o)
			if len(want) == 0 {
				t.Fatalf("%s: no planned fix found for it", o.Ref())
			}
			for _, r := range want {
				found := false
				for _, f := range e.Fixes {
					if f.Rule == r.Rule && f.Description == r.Fix.Description && slices.Equal(f.Warnings, r.Fix.Warnings) {
						found = true
						warnings += len(f.Warnings)
					}
				}
				if !found {
					t.Errorf("%s: fixes %+v lack %s: %q %q", e.Resource, e.Fixes, r.Rule, r.Fix.Description, r.Fix.Warnings)
				}
			}
			for _, f := range e.Fixes {
				if !slices.Contains(e.Rules, f.Rule) || f.Description == "" {
					t.Errorf("%s: fix %+v is not one of its rules %v, or says nothing", e.Resource, f, e.Rules)
				}
			}
		}
	}
	if warnings == 0 {
		t.Error("the demo shop's fixes carry no warning: the test proves nothing about warnings")
	}
}

func TestKustomizeCarriesFixes(t *testing.T) {
	plans, _ := demoResults(t)
	dir := t.TempDir()
	if _, err := WriteKustomize(dir, plans); err != nil {
		t.Fatal(err)
	}
	checkBuilt(t, plans, build(t, dir)) // the comments change nothing kustomize builds
	readme := string(must(os.ReadFile(filepath.Join(dir, "README.md"))))
	seen := 0
	names := fileNames{}
	for _, p := range plans {
		for _, o := range p.Objects {
			file := names.get(objectKey(o), o)
			if !o.Create {
				file = patchesDir + "/" + file
			}
			text := string(must(os.ReadFile(filepath.Join(dir, file))))
			for _, n := range o.Fixes {
				lines := noteLines(n)
				if n.Description == "" || len(lines) != 1+len(n.Warnings) {
					t.Fatalf("%s: note %+v gives lines %q", file, n, lines)
				}
				for _, l := range lines {
					if !strings.Contains(text, "# "+l+"\n") {
						t.Errorf("%s lacks the comment %q:\n%s", file, l, text)
					}
				}
				if !strings.Contains(readme, "- **"+n.Rule+"**: "+md(n.Description)+"\n") {
					t.Errorf("README.md lacks %s's fix %q", n.Rule, n.Description)
				}
				for _, w := range n.Warnings {
					if !strings.Contains(readme, "  - warning: "+md(w)+"\n") {
						t.Errorf("README.md lacks %s's warning %q", n.Rule, w)
					}
				}
				seen++
			}
			if !strings.Contains(readme, "### `"+file+"` — `"+o.Ref()+" -n "+o.Namespace+"`") {
				t.Errorf("README.md has no section for %s", file)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no fix described")
	}
}

// A description from the cluster (a label, a name) cannot end the comment
// and add fields to the patch.
func TestKustomizeCommentsStayComments(t *testing.T) {
	plans := demoPlans(t)
	var o *plan.Object
	for _, p := range plans {
		for _, obj := range p.Objects {
			if !obj.Create && o == nil {
				o = obj
			}
		}
	}
	if o == nil {
		t.Fatal("no changed object in the demo plans")
	}
	o.Fixes = []plan.Note{{Rule: "resources", Description: "set cpu\nspec: {replicas: 9}\r\x1b[2J",
		Warnings: []string{"guess\n---\nkind: Secret"}}}
	dir := t.TempDir()
	if _, err := WriteKustomize(dir, []*plan.Plan{{Objects: []*plan.Object{o}}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, patchesDir, strings.ToLower(o.Kind)+"-"+o.Name+".yaml")
	b := must(os.ReadFile(file))
	var got map[string]any
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if want := patchOf(o); !jsonEqual(t, got, want) {
		t.Errorf("the patch reads as %v, want %v:\n%s", got, want, b)
	}
	lines := strings.Split(string(b), "\n")
	if lines[0] != `# resources: fix: set cpu spec: {replicas: 9} \x1b[2J` || lines[1] != "# resources: warning: guess --- kind: Secret" {
		t.Errorf("comments:\n%s", b)
	}
	checkBuilt(t, []*plan.Plan{{Objects: []*plan.Object{o}}}, build(t, dir))
}

func jsonEqual(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	x, _ := json.Marshal(normalized(t, a))
	y, _ := json.Marshal(normalized(t, b))
	return string(x) == string(y)
}
