// Package plan turns the chosen fixes into one minimal server-side apply
// configuration per object (plus the companion objects to create), and
// computes each object's before/after, diff and RFC 6902 patch.
package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// DefaultFieldManager is harden's server-side apply field manager.
const DefaultFieldManager = "kubectl-harden"

// ManagedByLabel, set to ManagedBy, marks the companion objects harden
// creates: Build sets it on every object a fix creates, and undo deletes
// only a companion that still carries it (apply.ManagedByLabel).
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedBy is the label's value: the default field manager's name,
	// whatever --field-manager says.
	ManagedBy = DefaultFieldManager
)

// UndoAnnotation is harden's bookkeeping on the workload (see
// apply.Entry); diffs leave it out.
const UndoAnnotation = "harden.kubectl.dev/undo"

// Object is one object the plan changes.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Create is true for a companion object harden creates.
	Create bool `json:"create"`
	// Force takes the fields the apply changes from their other managers:
	// set when the user forced a fix, or when only one-off edits own them.
	Force bool `json:"-"`
	// Taken are the fields the apply takes from other managers' entries:
	// undo gives them back.
	Taken []owners.Taken `json:"-"`
	// Rules are the IDs of the fixes that touch the object.
	Rules []string `json:"rules"`
	// Fixes are what each fix that touches the object does and its
	// warnings, in rule order: exports (-o patch, -o kustomize) carry
	// them, so a reviewer of the written fixes sees where their numbers
	// come from.
	Fixes []Note `json:"-"`
	// Apply is the apply configuration sent: the fields harden already
	// owns on the object plus the new fixes — never more.
	Apply map[string]any `json:"apply"`
	// Before is the live object (nil when created); After what it becomes,
	// predicted by merging, or as the server's dry-run returned it.
	Before map[string]any `json:"-"`
	After  map[string]any `json:"-"`
	// Set is what the fixes set (without the fields owned before);
	// Restore is the apply configuration that puts back every field Set
	// touches as it was, keeping what harden owned before: undo applies it.
	Set     map[string]any `json:"-"`
	Restore map[string]any `json:"-"`
	// Prior is what the positions Set touches held before, list items
	// with only their keys included: what existed.
	Prior map[string]any `json:"-"`
}

// Note is one planned fix as its rule describes it (rules.Fix):
// {rule: "replicas", description: "set spec.replicas to 2 …", warnings: […]}.
type Note struct {
	Rule        string   `json:"rule"`
	Description string   `json:"description,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

// addNote records a fix on the object once: a fix whose changes touch
// the object twice, or the same companion planned by two workloads, is
// one note.
func (o *Object) addNote(n Note) {
	for _, have := range o.Fixes {
		if have.Rule == n.Rule && have.Description == n.Description && slices.Equal(have.Warnings, n.Warnings) {
			return
		}
	}
	o.Fixes = append(o.Fixes, n)
}

// Ref names the object like kubectl, e.g. deployment.apps/web.
func (o *Object) Ref() string {
	gv, _ := splitGroup(o.APIVersion)
	kind := strings.ToLower(o.Kind)
	if gv != "" {
		kind += "." + gv
	}
	return kind + "/" + o.Name
}

// Plan is every object to change for one workload.
type Plan struct {
	FieldManager string    `json:"fieldManager"`
	Objects      []*Object `json:"objects"`
}

// Empty reports whether there is nothing to change.
func (p *Plan) Empty() bool { return len(p.Objects) == 0 }

// Build merges the planned fixes of results into a Plan. Objects whose
// after equals their before are dropped: harden is idempotent.
func Build(s *inspect.Snapshot, results []rules.Result, fieldManager string) (*Plan, error) {
	p := &Plan{FieldManager: fieldManager}
	byKey := map[string]*Object{}
	var order []string
	for _, r := range results {
		if r.Status != rules.StatusPlanned || r.Fix == nil {
			continue
		}
		for _, c := range r.Fix.Changes {
			u := unstructured.Unstructured{Object: c.Object}
			key := u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
			o, ok := byKey[key]
			if !ok {
				o = &Object{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(), Create: c.Create}
				if !c.Create {
					live, err := liveObject(s, o)
					if err != nil {
						return nil, err
					}
					if o.Apply, err = ownedFields(live, fieldManager); err != nil {
						return nil, err
					}
					o.Restore = objmerge.DeepCopy(o.Apply)
					o.Before = Clean(live.Object)
					// An optimistic lock: the apply fails if the object
					// changed since it was read, and harden plans again.
					unstructured.SetNestedField(o.Apply, live.GetResourceVersion(), "metadata", "resourceVersion")
				}
				byKey[key] = o
				order = append(order, key)
			}
			change := objmerge.DeepCopy(c.Object)
			if c.Create {
				if err := unstructured.SetNestedField(change, ManagedBy, "metadata", "labels", ManagedByLabel); err != nil {
					return nil, fmt.Errorf("plan: labelling %s/%s: %w", o.Kind, o.Name, err)
				}
			}
			o.Apply = objmerge.Merge(o.Apply, change)
			o.Set = objmerge.Merge(o.Set, objmerge.DeepCopy(change))
			if !slices.Contains(o.Rules, r.Rule) {
				o.Rules = append(o.Rules, r.Rule)
			}
			o.addNote(Note{Rule: r.Rule, Description: r.Fix.Description, Warnings: slices.Clone(r.Fix.Warnings)})
		}
	}
	for _, key := range order {
		o := byKey[key]
		if o.Create {
			o.After = Clean(objmerge.DeepCopy(o.Apply))
		} else {
			o.Restore = objmerge.Merge(o.Restore, objmerge.Pick(o.Before, o.Set))
			o.Prior = objmerge.PickWithKeys(o.Before, o.Set)
			o.After = Clean(objmerge.Merge(objmerge.DeepCopy(o.Before), o.Apply))
			if objmerge.Contains(o.Before, o.After) && objmerge.Contains(o.After, o.Before) {
				continue
			}
		}
		p.Objects = append(p.Objects, o)
	}
	// Workload and existing objects first, companions after: a PDB is only
	// created once the replicas it protects are being rolled out.
	sort.SliceStable(p.Objects, func(i, j int) bool { return !p.Objects[i].Create && p.Objects[j].Create })
	return p, nil
}

// LiveObject finds in the snapshot the live object that a change (a
// partial object naming it) is to: the workload or one of its related
// objects of a kind fixes change in place (inspect.KindTable: its HPAs).
// It errs for any other object.
func LiveObject(s *inspect.Snapshot, change map[string]any) (*unstructured.Unstructured, error) {
	u := unstructured.Unstructured{Object: change}
	return liveObject(s, &Object{Kind: u.GetKind(), Name: u.GetName()})
}

// liveObject finds the live object a change is to.
func liveObject(s *inspect.Snapshot, o *Object) (*unstructured.Unstructured, error) {
	w := s.Workload
	if o.Kind == w.Kind() && o.Name == w.Name() {
		return w.Object, nil
	}
	if k := inspect.KindOf(o.Kind); k != nil && k.ChangedInPlace() {
		u, err := s.RelatedObject(o.Kind, o.Name)
		if err != nil || u != nil {
			return u, err
		}
	}
	return nil, fmt.Errorf("plan: %s/%s is not in the snapshot", o.Kind, o.Name)
}

// ownedFields extracts the fields fieldManager already owns on the live
// object (owners.Owned). They go into every apply, since server-side
// apply removes owned fields an apply leaves out: a second run for other
// fixes must not undo the first.
func ownedFields(live *unstructured.Unstructured, fieldManager string) (map[string]any, error) {
	if k := inspect.KindOf(live.GetKind()); k == nil || !k.ChangedInPlace() {
		return nil, fmt.Errorf("plan: cannot change a %s", live.GetKind())
	}
	m, err := owners.Owned(live, fieldManager)
	if err != nil {
		return nil, fmt.Errorf("reading fields owned by %s on %s/%s: %w", fieldManager, live.GetKind(), live.GetName(), err)
	}
	return m, nil
}

// Clean drops what the server manages (status, managedFields,
// resourceVersion…), leaving what a diff should show.
func Clean(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out := objmerge.DeepCopy(obj)
	delete(out, "status")
	if meta, ok := out["metadata"].(map[string]any); ok {
		for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
			delete(meta, f)
		}
		if ann, ok := meta["annotations"].(map[string]any); ok {
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
			delete(ann, "deployment.kubernetes.io/revision")
			delete(ann, UndoAnnotation)
			if len(ann) == 0 {
				delete(meta, "annotations")
			}
		}
	}
	return out
}

func splitGroup(apiVersion string) (group, version string) {
	for i := 0; i < len(apiVersion); i++ {
		if apiVersion[i] == '/' {
			return apiVersion[:i], apiVersion[i+1:]
		}
	}
	return "", apiVersion
}
