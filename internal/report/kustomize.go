package report

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// The overlay's layout under DIR. base/ is what the patches apply to when
// the overlay is built as written; a repository's own base replaces it.
const (
	kustomizationFile = "kustomization.yaml"
	baseDir           = "base"
	patchesDir        = "patches"
)

// kustomizationHeader heads DIR/kustomization.yaml: a reader of the file
// alone learns how to reuse it.
const kustomizationHeader = `# Written by kubectl harden: the fixes as patches, each with an explicit
# target, on base/ (the live objects they change, as read), plus the new
# objects the fixes create. kubectl kustomize . builds the hardened objects.
# To harden your own manifests instead, replace "base" under resources:
# with your base (a path or a remote URL); see README.md.
`

// WriteKustomize writes the plans into dir as a kustomize overlay that
// builds as written (kubectl kustomize DIR, kubectl apply -k DIR):
//
//	DIR/kustomization.yaml        resources: [base, <companions>]; patches: with target:
//	DIR/README.md                 how to point the patches at your own base
//	DIR/base/kustomization.yaml   resources: the live objects
//	DIR/base/KIND-NAME.yaml       each changed object as live, cleaned (plan.Clean)
//	DIR/patches/KIND-NAME.yaml    a strategic-merge patch: only the fields the fixes set
//	DIR/KIND-NAME.yaml            each companion to create
//
// Each patch and companion file opens with comment lines, one per fix
// line ("# RULE: fix: …", "# RULE: warning: …"), and README.md lists them
// too: a reviewer of the pull request sees what each fix does, where its
// numbers come from and what to watch for.
//
// Each patch names its target (group, version, kind, name, namespace), so
// it also applies to a base other than base/. Files of an earlier run in
// dir are overwritten. It returns the files written; an error when no
// plan changes anything or a file cannot be written.
func WriteKustomize(dir string, plans []*plan.Plan) ([]string, error) {
	var (
		top, base  = newKustomization(), newKustomization()
		files      []string
		names      = fileNames{}
		baseFiles  = map[string]string{}         // object key → file under base/
		companions = map[string]map[string]any{} // file → the merged companion
		notes      = map[string][]plan.Note{}    // file → the fixes it holds
		explained  []explainedFile               // README order
		order      []string
		patched    = map[string]int{} // object key → patches written for it
	)
	for _, p := range plans {
		if p == nil {
			continue
		}
		for _, o := range p.Objects {
			key := objectKey(o)
			if o.Create {
				// Two workloads may plan the same companion: one resource.
				name := names.get(key, o)
				if _, ok := companions[name]; !ok {
					order = append(order, name)
					top.Resources = append(top.Resources, name)
				}
				companions[name] = objmerge.Merge(companions[name], plan.Clean(o.After))
				if _, ok := notes[name]; !ok {
					explained = append(explained, explainedFile{file: name, object: o})
				}
				notes[name] = mergeNotes(notes[name], o.Fixes)
				continue
			}
			name, ok := baseFiles[key]
			if !ok {
				name = names.get(key, o)
				baseFiles[key] = name
				base.Resources = append(base.Resources, name)
				if err := writeYAML(filepath.Join(dir, baseDir, name), plan.Clean(o.Before), &files); err != nil {
					return nil, err
				}
			}
			patchFile := patchesDir + "/" + name
			if patched[key]++; patched[key] > 1 { // the same object in two plans
				patchFile = strings.TrimSuffix(patchFile, ".yaml") + fmt.Sprintf("-%d.yaml", patched[key])
			}
			notes[patchFile] = o.Fixes
			explained = append(explained, explainedFile{file: patchFile, object: o})
			if err := writeCommentedYAML(filepath.Join(dir, patchFile), fixComments(o.Fixes), patchOf(o), &files); err != nil {
				return nil, err
			}
			top.Patches = append(top.Patches, types.Patch{Path: patchFile, Target: target(o)})
		}
	}
	if len(top.Patches)+len(companions) == 0 {
		return nil, fmt.Errorf("nothing to write: no fix is planned")
	}
	for _, name := range order {
		if err := writeCommentedYAML(filepath.Join(dir, name), fixComments(notes[name]), companions[name], &files); err != nil {
			return nil, err
		}
	}
	if len(base.Resources) > 0 {
		if err := writeYAML(filepath.Join(dir, baseDir, kustomizationFile), base, &files); err != nil {
			return nil, err
		}
		top.Resources = append([]string{baseDir}, top.Resources...)
	}
	b, err := yaml.Marshal(top)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, kustomizationFile), append([]byte(kustomizationHeader), b...), &files); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, "README.md"), []byte(overlayReadme(top.Patches, explained, notes)), &files); err != nil {
		return nil, err
	}
	return files, nil
}

func newKustomization() *types.Kustomization {
	return &types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
}

// patchOf is the strategic-merge patch of an object: what the fixes set,
// with the object's identity and no resourceVersion (a patch in a
// repository must not pin one).
func patchOf(o *plan.Object) map[string]any {
	patch := objmerge.DeepCopy(o.Set)
	if patch == nil {
		patch = map[string]any{}
	}
	u := unstructured.Unstructured{Object: patch}
	u.SetAPIVersion(o.APIVersion)
	u.SetKind(o.Kind)
	u.SetName(o.Name)
	if o.Namespace != "" {
		u.SetNamespace(o.Namespace)
	}
	unstructured.RemoveNestedField(patch, "metadata", "resourceVersion")
	return patch
}

// target selects exactly the object a patch was made for.
func target(o *plan.Object) *types.Selector {
	gv, _ := schema.ParseGroupVersion(o.APIVersion)
	return &types.Selector{ResId: resid.ResId{
		Gvk:  resid.Gvk{Group: gv.Group, Version: gv.Version, Kind: o.Kind},
		Name: o.Name, Namespace: o.Namespace,
	}}
}

func objectKey(o *plan.Object) string {
	return o.APIVersion + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// fileNames gives each object one file name, KIND-NAME.yaml, with the
// namespace in front when two namespaces hold the same kind and name.
type fileNames map[string]string // object key → file name

func (f fileNames) get(key string, o *plan.Object) string {
	if name, ok := f[key]; ok {
		return name
	}
	name := strings.ToLower(o.Kind) + "-" + o.Name + ".yaml"
	for _, used := range f {
		if used == name {
			name = o.Namespace + "-" + name
			break
		}
	}
	f[key] = name
	return name
}

func writeYAML(path string, obj any, files *[]string) error {
	return writeCommentedYAML(path, "", obj, files)
}

// writeCommentedYAML writes obj as YAML after header (comment lines, each
// ending in a newline; "" for none).
func writeCommentedYAML(path, header string, obj any, files *[]string) error {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	return writeFile(path, append([]byte(header), b...), files)
}

// explainedFile is a patch or companion file of the overlay and the
// object it is for, for README.md's list of fixes.
type explainedFile struct {
	file   string
	object *plan.Object
}

// mergeNotes adds to have the notes of add it lacks: a companion two
// workloads plan is one file with both workloads' fixes.
func mergeNotes(have, add []plan.Note) []plan.Note {
	for _, n := range add {
		if !slices.ContainsFunc(have, func(h plan.Note) bool {
			return h.Rule == n.Rule && h.Description == n.Description && slices.Equal(h.Warnings, n.Warnings)
		}) {
			have = append(have, n)
		}
	}
	return have
}

// noteLines are a fix's lines as the text report prints them, "RULE: fix:
// DESCRIPTION" then one "RULE: warning: …" per warning, each one line
// with control characters escaped (the text comes from the cluster).
func noteLines(n plan.Note) []string {
	var out []string
	one := func(kind, s string) {
		s = strings.Join(strings.Fields(s), " ") // a YAML comment ends at a newline
		out = append(out, n.Rule+": "+kind+": "+termsafe.String(s))
	}
	if n.Description != "" {
		one("fix", n.Description)
	}
	for _, w := range n.Warnings {
		one("warning", w)
	}
	return out
}

// fixComments are YAML comment lines, "# RULE: fix: …" and "# RULE:
// warning: …", for the fixes in a file; "" when there are none.
func fixComments(notes []plan.Note) string {
	var b strings.Builder
	for _, n := range notes {
		for _, l := range noteLines(n) {
			b.WriteString("# " + l + "\n")
		}
	}
	return b.String()
}

func writeFile(path string, b []byte, files *[]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	if !slices.Contains(*files, path) {
		*files = append(*files, path)
	}
	return nil
}

// overlayReadme is DIR/README.md: what the overlay holds and how to use
// its patches against a repository's own base.
func overlayReadme(patches []types.Patch, explained []explainedFile, notes map[string][]plan.Note) string {
	var b strings.Builder
	b.WriteString(`# Hardening fixes written by kubectl harden

` + "```sh" + `
kubectl kustomize .      # the hardened objects
kubectl apply -k .       # or commit this folder where your GitOps tool syncs from
` + "```" + `

- ` + "`kustomization.yaml`" + ` — the overlay: ` + "`resources:`" + ` lists ` + "`base`" + ` and the new
  objects the fixes create; ` + "`patches:`" + ` lists one strategic-merge patch per
  changed object, with an explicit ` + "`target:`" + `.
- ` + "`base/`" + ` — the objects the patches change, as they were live when harden read
  them (status, managedFields, resourceVersion, uid and the last-applied
  annotation removed), so the overlay builds as it is.
- ` + "`patches/`" + ` — only the fields the fixes set.

## Using the patches with your own manifests

The live copy in ` + "`base/`" + ` is a snapshot: if the objects come from your
repository, build the patches on your repository's base instead. In
` + "`kustomization.yaml`" + `, replace ` + "`- base`" + ` under ` + "`resources:`" + ` with the path or URL of
that base, e.g.

` + "```yaml" + `
resources:
- ../../base                                  # or github.com/ORG/REPO//deploy/app?ref=main
` + "```" + `

and delete ` + "`base/`" + `. Each patch applies to the object its ` + "`target:`" + ` names; if the
objects of your base have no namespace (a ` + "`namespace:`" + ` field of a kustomization
sets it), drop ` + "`namespace:`" + ` from the targets. Keep the companions listed under
` + "`resources:`" + ` unless your repository already defines them.

## Patches

| patch | target |
| --- | --- |
`)
	for _, p := range patches {
		t := p.Target
		gv := t.Version
		if t.Group != "" {
			gv = t.Group + "/" + t.Version
		}
		fmt.Fprintf(&b, "| `%s` | %s %s `%s/%s` |\n", p.Path, gv, t.Kind, t.Namespace, t.Name)
	}
	b.WriteString(`
## What each fix does

Per file: what each fix sets, where its numbers come from, and what to
watch for once it is live. Each patch and companion file opens with the
same lines as comments.
`)
	for _, e := range explained {
		o := e.object
		fmt.Fprintf(&b, "\n### `%s` — `%s -n %s`", e.file, o.Ref(), o.Namespace)
		if o.Create {
			b.WriteString(" (created)")
		}
		b.WriteString("\n\n")
		if len(notes[e.file]) == 0 {
			b.WriteString("- no description\n")
		}
		for _, n := range notes[e.file] {
			if n.Description != "" {
				fmt.Fprintf(&b, "- **%s**: %s\n", n.Rule, md(n.Description))
			} else {
				fmt.Fprintf(&b, "- **%s**\n", n.Rule)
			}
			for _, w := range n.Warnings {
				fmt.Fprintf(&b, "  - warning: %s\n", md(w))
			}
		}
	}
	return b.String()
}
