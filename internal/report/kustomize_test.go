package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// demoPlans plans every fix for every workload of the demo shop.
func demoPlans(t *testing.T) []*plan.Plan {
	t.Helper()
	snaps, _ := demoSnapshots(t)
	var plans []*plan.Plan
	for _, s := range snaps {
		results, err := rules.Evaluate(s, rules.Selection{Fix: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.Build(s, results, plan.DefaultFieldManager)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	return plans
}

// build runs kustomize's own build (krusty, as kubectl kustomize does) on
// dir and indexes the objects by apiVersion/kind/namespace/name.
func build(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := map[string]map[string]any{}
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		key := r.GetApiVersion() + "/" + r.GetKind() + "/" + r.GetNamespace() + "/" + r.GetName()
		out[key] = normalized(t, obj)
	}
	return out
}

// normalized round-trips through JSON, so numbers compare by value.
func normalized(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkBuilt requires every planned object in built: a changed object
// with the fields its fixes set as planned (After), a companion exactly
// as planned.
func checkBuilt(t *testing.T, plans []*plan.Plan, built map[string]map[string]any) {
	t.Helper()
	for _, p := range plans {
		for _, o := range p.Objects {
			got, ok := built[objectKey(o)]
			if !ok {
				t.Errorf("the build lacks %s", objectKey(o))
				continue
			}
			if meta := got["metadata"].(map[string]any); got["apiVersion"] != o.APIVersion || got["kind"] != o.Kind ||
				meta["name"] != o.Name || meta["namespace"] != o.Namespace {
				t.Errorf("%s built as %v %v %v", objectKey(o), got["apiVersion"], got["kind"], meta)
			}
			want := normalized(t, o.After)
			if !o.Create {
				want, got = objmerge.Pick(want, o.Set), objmerge.Pick(got, o.Set)
			}
			if !objmerge.Contains(got, want) || !objmerge.Contains(want, got) {
				t.Errorf("%s built:\n%s\nwant (the plan's after):\n%s", objectKey(o), plan.YAML(got), plan.YAML(want))
			}
		}
	}
}

// The overlay builds as written, with kustomize's own library, into the
// hardened objects; the base is the live objects cleaned.
func TestKustomizeBuilds(t *testing.T) {
	plans := demoPlans(t)
	dir := filepath.Join(t.TempDir(), "overlay")
	files, err := WriteKustomize(dir, plans)
	if err != nil {
		t.Fatal(err)
	}
	built := build(t, dir)
	checkBuilt(t, plans, built)

	var updates, creates int
	for _, p := range plans {
		for _, o := range p.Objects {
			if o.Create {
				creates++
			} else {
				updates++
			}
		}
	}
	if updates < 5 || creates == 0 {
		t.Fatalf("the fixture plans %d updates and %d creates: too few to prove anything", updates, creates)
	}
	if len(built) != updates+creates {
		t.Errorf("the build has %d objects, the plans %d", len(built), updates+creates)
	}

	var k types.Kustomization
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil || yaml.Unmarshal(b, &k) != nil {
		t.Fatalf("kustomization.yaml: %v\n%s", err, b)
	}
	if k.Resources[0] != "base" || len(k.Resources) != 1+creates || len(k.Patches) != updates {
		t.Errorf("resources %v, %d patches; want base, %d companions, %d patches", k.Resources, len(k.Patches), creates, updates)
	}
	for _, p := range k.Patches {
		if p.Target == nil || p.Target.Kind == "" || p.Target.Version == "" || p.Target.Name == "" || p.Target.Namespace != "demo" {
			t.Errorf("patch %s has target %+v, want group, version, kind, name and namespace", p.Path, p.Target)
		}
	}
	if !strings.HasPrefix(string(b), "# Written by kubectl harden") {
		t.Errorf("kustomization.yaml has no header:\n%s", b)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".yaml") {
			continue
		}
		b, _ := os.ReadFile(f)
		s := string(b)
		for _, bad := range []string{"managedFields", "resourceVersion", "uid:", "last-applied-configuration", "\nstatus:"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s holds %q:\n%s", f, bad, s)
			}
		}
	}
	if readme, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || !strings.Contains(string(readme), "replace `- base`") {
		t.Errorf("README.md: %v\n%s", err, readme)
	}
}

// The patches apply to a repository's own base too: pointing resources:
// at it builds that base, hardened.
func TestKustomizeOwnBase(t *testing.T) {
	plans := demoPlans(t)
	root := t.TempDir()
	overlay := filepath.Join(root, "overlays", "harden")
	if _, err := WriteKustomize(overlay, plans); err != nil {
		t.Fatal(err)
	}
	// The repository's base: the shop's manifests, with an image the live
	// objects do not have yet.
	shop, err := os.ReadFile("../../testdata/demo/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(root, "base")
	manifests := strings.ReplaceAll(string(shop), "image: ghcr.io/example/shop-api:1.4.2", "image: ghcr.io/example/shop-api:1.5.0")
	for path, content := range map[string]string{
		filepath.Join(own, "shop.yaml"):          manifests,
		filepath.Join(own, "kustomization.yaml"): "resources: [shop.yaml]\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kfile := filepath.Join(overlay, "kustomization.yaml")
	b, err := os.ReadFile(kfile)
	if err != nil {
		t.Fatal(err)
	}
	// As the README says: replace "- base" and delete base/.
	b = []byte(strings.Replace(string(b), "\n- base\n", "\n- ../../base\n", 1))
	if err := os.WriteFile(kfile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(overlay, "base")); err != nil {
		t.Fatal(err)
	}
	built := build(t, overlay)
	checkBuilt(t, plans, built)
	api := built["apps/v1/Deployment/demo/api"]
	if !strings.Contains(plan.YAML(api), "image: ghcr.io/example/shop-api:1.5.0") {
		t.Errorf("the build did not keep the repository's own base:\n%s", plan.YAML(api))
	}
}

// -o patch: each update's operations turn the live object into the
// planned after; companions carry their manifest, not an operation.
func TestPatches(t *testing.T) {
	plans := demoPlans(t)
	entries, err := Patches(append(plans, nil))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, p := range plans {
		for _, o := range p.Objects {
			e := entries[i]
			i++
			if e.Kind != o.Kind || e.Name != o.Name || e.Namespace != o.Namespace || e.Resource != o.Ref() {
				t.Errorf("entry %d: %+v for %s", i, e, objectKey(o))
			}
			if o.Create {
				if e.Action != "create" || e.Patch != nil || !objmerge.Contains(normalized(t, e.Object), normalized(t, o.After)) {
					t.Errorf("companion %s: %+v", o.Ref(), e)
				}
				continue
			}
			if e.Action != "update" || e.Object != nil || len(e.Patch) == 0 {
				t.Errorf("update %s: %+v", o.Ref(), e)
				continue
			}
			ops, _ := json.Marshal(e.Patch)
			patch, err := jsonpatch.DecodePatch(ops)
			if err != nil {
				t.Fatal(err)
			}
			live, _ := json.Marshal(o.Before)
			got, err := patch.Apply(live)
			want, _ := json.Marshal(o.After)
			if err != nil || !jsonpatch.Equal(got, want) {
				t.Errorf("%s: the patch gives %s (%v), want %s", o.Ref(), got, err, want)
			}
		}
	}
	if i != len(entries) {
		t.Errorf("%d entries for %d objects", len(entries), i)
	}
	if b, _ := json.Marshal(must(Patches(nil))); string(b) != "[]" {
		t.Errorf("nothing to change prints %s, want []", b)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Workloads of the same kind and name in two namespaces get files of
// their own, and one overlay builds them all.
func TestKustomizeTwoNamespaces(t *testing.T) {
	plans := demoPlans(t)
	for _, p := range demoPlans(t) {
		q := &plan.Plan{FieldManager: p.FieldManager}
		for _, o := range p.Objects {
			c := *o
			c.Namespace = "prod"
			for _, m := range []map[string]any{c.Before, c.After, c.Set} {
				if m != nil {
					_ = unstructured.SetNestedField(m, "prod", "metadata", "namespace")
				}
			}
			q.Objects = append(q.Objects, &c)
		}
		plans = append(plans, q)
	}
	dir := t.TempDir()
	if _, err := WriteKustomize(dir, plans); err != nil {
		t.Fatal(err)
	}
	built := build(t, dir)
	checkBuilt(t, plans, built)
	if _, err := os.Stat(filepath.Join(dir, "base", "prod-deployment-web.yaml")); err != nil {
		t.Error(err)
	}
}
