package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// Field-level bookkeeping for rollback and undo, with the API's own merge
// rules (containers by name, atomic lists whole): which fields harden set
// were changed by someone else since, who that is, and what is not as it
// was before.

func typedOf(obj map[string]any) (*typed.TypedValue, error) { return owners.Typed(obj) }

// Drift is a field harden set that someone else changed since.
type Drift struct {
	Path    fieldpath.Path
	Value   any    // the live value; nil when removed
	Present bool   // false when the field was removed
	Manager string // who owns it now ("" when nobody does)
}

// describe says what happened to the field, e.g. `.spec.replicas (4, set
// by kubectl-scale during the run)`.
func (d Drift) describe() string {
	return fieldNote(d.Path.String(), d.Value, d.Present, d.Manager)
}

func fieldNote(path string, v any, present bool, manager string) string {
	switch {
	case !present && manager == "":
		return path + " (removed during the run)"
	case !present:
		return fmt.Sprintf("%s (removed by %s during the run)", path, manager)
	case manager == "":
		return fmt.Sprintf("%s (%s, changed during the run)", path, short(v))
	}
	return fmt.Sprintf("%s (%s, set by %s during the run)", path, short(v), manager)
}

// short renders a value compactly for a one-line message.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// drifted returns the fields of set whose live value is no longer the
// one harden set, each with its current owner.
func drifted(live *unstructured.Unstructured, set map[string]any, self string) ([]Drift, error) {
	set = objmerge.DeepCopy(set)
	if set == nil {
		set = map[string]any{}
	}
	unstructured.RemoveNestedField(set, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(set, "metadata", "annotations", UndoAnnotation)
	set["apiVersion"], set["kind"] = live.GetAPIVersion(), live.GetKind()
	_ = unstructured.SetNestedField(set, live.GetName(), "metadata", "name")
	changed, err := owners.Changes(live, set)
	if err != nil {
		return nil, err
	}
	return driftsOf(changed, live, self), nil
}

// driftsOf lists the leaves of changed with their values and owners on
// live, sorted by path.
func driftsOf(changed *fieldpath.Set, live *unstructured.Unstructured, self string) []Drift {
	var out []Drift
	changed.Leaves().Iterate(func(p fieldpath.Path) {
		v, ok := lookupPath(live.Object, p)
		out = append(out, Drift{Path: p, Value: v, Present: ok, Manager: ownerOf(live, p, self)})
	})
	sortDrifts(out)
	return out
}

func sortDrifts(d []Drift) {
	sort.Slice(d, func(i, j int) bool { return d[i].Path.String() < d[j].Path.String() })
}

// differences lists the leaves of spec that differ between before and
// live (added, removed or changed), each with its owner on live: what is
// not as it was before.
func differences(before map[string]any, live *unstructured.Unstructured, self string) ([]Drift, error) {
	strip := func(obj map[string]any) map[string]any {
		out := map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": map[string]any{"name": live.GetName()}}
		if s, ok := obj["spec"]; ok {
			out["spec"] = s
		}
		return out
	}
	a, err := typedOf(strip(before))
	if err != nil {
		return nil, err
	}
	b, err := typedOf(strip(live.Object))
	if err != nil {
		return nil, err
	}
	cmp, err := a.Compare(b)
	if err != nil {
		return nil, err
	}
	return driftsOf(cmp.Modified.Union(cmp.Added).Union(cmp.Removed), live, self), nil
}

// managerSet is the field set a manager holds on live with an apply (or,
// with apply false, any operation), status excluded.
func managerSet(live *unstructured.Unstructured, manager string, applyOnly bool) *fieldpath.Set {
	out := &fieldpath.Set{}
	for _, e := range live.GetManagedFields() {
		if e.Manager != manager || e.Subresource != "" || e.FieldsV1 == nil {
			continue
		}
		if applyOnly && e.Operation != metav1.ManagedFieldsOperationApply {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err == nil {
			out = out.Union(s)
		}
	}
	return out
}

// ownerOf names a manager other than self that owns p on live, "" when
// none does. An autoscaler's write through /scale counts.
func ownerOf(live *unstructured.Unstructured, p fieldpath.Path, self string) string {
	var names []string
	for _, e := range live.GetManagedFields() {
		if e.Manager == self || e.Subresource == "status" || e.FieldsV1 == nil {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			continue
		}
		name := e.Manager
		if e.Subresource == "scale" {
			name += " via /scale"
		}
		if s.Has(p) && !contains(names, name) {
			names = append(names, name)
		}
	}
	return strings.Join(names, " and ")
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// extract returns the values live holds at the leaves of set, as a
// partial object that names live (an apply configuration).
func extract(live *unstructured.Unstructured, set *fieldpath.Set) (map[string]any, error) {
	tv, err := typedOf(live.Object)
	if err != nil {
		return nil, err
	}
	m, _ := tv.ExtractItems(set.Leaves()).AsValue().Unstructured().(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m["apiVersion"], m["kind"] = live.GetAPIVersion(), live.GetKind()
	_ = unstructured.SetNestedField(m, live.GetName(), "metadata", "name")
	if live.GetNamespace() != "" {
		_ = unstructured.SetNestedField(m, live.GetNamespace(), "metadata", "namespace")
	}
	return m, nil
}

// wholeUnits are the objects whose fields do not stand alone: a probe
// without its handler is invalid.
var wholeUnits = map[string]bool{"readinessProbe": true, "livenessProbe": true, "startupProbe": true}

// unitLists are the keyed lists whose items harden creates whole (a
// volume, its mount, a spread constraint): a leftover field of one is not
// a valid item.
var unitLists = map[string]bool{"volumes": true, "volumeMounts": true, "topologySpreadConstraints": true, "env": true}

// unitOf returns the enclosing unit of p (a probe, a created list item),
// or nil when p stands alone.
func unitOf(p fieldpath.Path) fieldpath.Path {
	for k, pe := range p {
		if pe.FieldName != nil && wholeUnits[*pe.FieldName] {
			return p[:k+1]
		}
		if pe.Key != nil && k > 0 && p[k-1].FieldName != nil && unitLists[*p[k-1].FieldName] {
			return p[:k+1]
		}
	}
	return nil
}

// lookupPath returns the value at p in obj.
func lookupPath(obj any, p fieldpath.Path) (any, bool) {
	cur := obj
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[*pe.FieldName]; !ok {
				return nil, false
			}
		default:
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			i := indexIn(l, pe)
			if i < 0 {
				return nil, false
			}
			cur = l[i]
		}
	}
	return cur, true
}

// pointer turns p into the JSON pointer of its position in obj (list
// items by their index there), with the value found.
func pointer(obj map[string]any, p fieldpath.Path) (string, any, bool) {
	var b strings.Builder
	var cur any = obj
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return "", nil, false
			}
			if cur, ok = m[*pe.FieldName]; !ok {
				return "", nil, false
			}
			b.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(*pe.FieldName, "~", "~0"), "/", "~1"))
		default:
			l, ok := cur.([]any)
			if !ok {
				return "", nil, false
			}
			i := indexIn(l, pe)
			if i < 0 {
				return "", nil, false
			}
			cur = l[i]
			fmt.Fprintf(&b, "/%d", i)
		}
	}
	return b.String(), cur, true
}

// removePath deletes the value at p from obj, and the maps it leaves
// empty; it reports whether something was removed.
func removePath(obj map[string]any, p fieldpath.Path) bool {
	if len(p) == 0 {
		return false
	}
	var walk func(cur any, rest fieldpath.Path) (any, bool)
	walk = func(cur any, rest fieldpath.Path) (any, bool) {
		pe := rest[0]
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return cur, false
			}
			child, ok := m[*pe.FieldName]
			if !ok {
				return cur, false
			}
			if len(rest) == 1 {
				delete(m, *pe.FieldName)
				return m, true
			}
			nc, done := walk(child, rest[1:])
			if done {
				if cm, ok := nc.(map[string]any); ok && len(cm) == 0 {
					delete(m, *pe.FieldName)
				} else {
					m[*pe.FieldName] = nc
				}
			}
			return m, done
		default:
			l, ok := cur.([]any)
			if !ok {
				return cur, false
			}
			i := indexIn(l, pe)
			if i < 0 {
				return cur, false
			}
			if len(rest) == 1 {
				return append(l[:i:i], l[i+1:]...), true
			}
			nc, done := walk(l[i], rest[1:])
			if done {
				l[i] = nc
			}
			return l, done
		}
	}
	_, done := walk(obj, p)
	return done
}

// indexIn finds the list item a path element names: by its keys, its
// value or its index.
func indexIn(l []any, pe fieldpath.PathElement) int {
	switch {
	case pe.Key != nil:
		for i, item := range l {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			match := true
			for _, f := range *pe.Key {
				v, ok := m[f.Name]
				if !ok && f.Name == "protocol" {
					v, ok = "TCP", true
				}
				if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
					match = false
					break
				}
			}
			if match {
				return i
			}
		}
	case pe.Value != nil:
		for i, item := range l {
			if value.Equals(value.NewValueInterface(item), *pe.Value) {
				return i
			}
		}
	case pe.Index != nil && *pe.Index < len(l):
		return *pe.Index
	}
	return -1
}

// sameJSON compares two JSON-shaped values whatever their number types.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// leaveTaken removes from restore, an undo's apply configuration, the spec
// fields this run did not set (set) that harden no longer owns on live:
// another manager changed them since an earlier run set them, and
// applying restore would put harden's old value back over theirs. It
// returns one note per field left, naming who holds it now.
func (a *Applier) leaveTaken(live *unstructured.Unstructured, restore, set map[string]any, o *plan.Object) []string {
	rt, err := typedOf(restore)
	if err != nil {
		return nil
	}
	fields, err := rt.ToFieldSet()
	if err != nil {
		return nil
	}
	ran := &fieldpath.Set{}
	if st, err := typedOf(set); err == nil {
		if s, err := st.ToFieldSet(); err == nil {
			ran = s
		}
	}
	mine := managerSet(live, a.FieldManager, true)
	var gone []fieldpath.Path
	fields.Leaves().Iterate(func(p fieldpath.Path) {
		if len(p) == 0 || p[0].FieldName == nil || *p[0].FieldName != "spec" || mine.Has(p) || ran.Has(p) {
			return
		}
		gone = append(gone, p.Copy())
	})
	var notes []string
	for _, p := range gone {
		if !removePath(restore, p) {
			continue
		}
		v, present := lookupPath(live.Object, p)
		notes = append(notes, prefixOf(o)+fieldNote(p.String(), v, present, ownerOf(live, p, a.FieldManager))+" — set by an earlier run, changed since: left as it is")
	}
	return notes
}
