package inspect

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-harden/kubectl-harden/internal/objmerge"
)

// Merged is the workload with partial (a fix's change to it, JSON-shaped)
// merged in as server-side apply merges it (objmerge.Merge): a new
// Workload that shares with w every part the change leaves alone, so
// neither may be changed in place. Only the typed fields partial names are
// converted from the merged object; converting the whole object again is
// what projecting a fix cost before. An error is a conversion's.
func (w *Workload) Merged(partial map[string]any) (*Workload, error) {
	obj := &unstructured.Unstructured{Object: objmerge.Merge(w.Object.Object, partial)}
	k := KindOf(w.Kind())
	typed := w.typed()
	if k == nil || typed == nil || obj.GetKind() != w.Kind() {
		return NewWorkload(obj)
	}
	cp := reflect.New(reflect.TypeOf(typed).Elem())
	cp.Elem().Set(reflect.ValueOf(typed).Elem())
	switch err := assignFields(cp.Elem(), w.Object.Object, obj.Object, partial); {
	case errors.Is(err, errWhole):
		return NewWorkload(obj)
	case err != nil:
		return nil, err
	}
	out := &Workload{Object: obj}
	k.bind(out, cp.Interface().(runtime.Object))
	return out, nil
}

// errWhole is a partial that names a field assignFields cannot find in the
// typed struct: the whole object is converted instead.
var errWhole = errors.New("convert the whole object")

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// assignFields sets the fields of v (an addressable struct, a shallow copy
// of the typed object) that partial names from their values in merged;
// old is the JSON-shaped object v was converted from. It descends into
// structs (pointed-to ones copied first) and into the items of keyed lists
// (containers by name) for as long as partial does, skips the scalars
// partial leaves as they were (a change names its object: kind, name),
// and converts whole the values under partial's leaves: atomic lists,
// maps, scalars, and types that decode themselves (Quantity, IntOrString).
func assignFields(v reflect.Value, old, merged, partial map[string]any) error {
	fields := jsonFields(v.Type())
	for key, pv := range partial {
		idx, ok := fields[key]
		if !ok {
			return errWhole
		}
		f := v.FieldByIndex(idx)
		if isScalar(pv) && old[key] == pv {
			continue
		}
		handled, err := assignInside(f, key, old[key], merged[key], pv)
		if err != nil {
			return err
		}
		if handled {
			continue
		}
		// The converter fills structs from maps: this one field is
		// converted into a new, empty value of the struct holding it.
		fresh := reflect.New(v.Type())
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{key: merged[key]}, fresh.Interface()); err != nil {
			return err
		}
		f.Set(fresh.Elem().FieldByIndex(idx))
	}
	return nil
}

// assignInside sets field f (JSON name key) part by part when partial's
// value pv goes inside it: a struct, a pointer to one, or a keyed list of
// structs. It reports false when f must be converted whole instead.
func assignInside(f reflect.Value, key string, ov, mv, pv any) (bool, error) {
	om, _ := ov.(map[string]any)
	if reflect.PointerTo(f.Type()).Implements(unmarshaler) {
		return false, nil
	}
	switch p := pv.(type) {
	case map[string]any:
		mm, _ := mv.(map[string]any)
		switch {
		case mm == nil:
			return false, nil
		case f.Kind() == reflect.Struct:
			return true, assignFields(f, om, mm, p)
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct && !f.Type().Implements(unmarshaler):
			nv := reflect.New(f.Type().Elem())
			if !f.IsNil() {
				nv.Elem().Set(f.Elem())
			}
			if err := assignFields(nv.Elem(), om, mm, p); err != nil {
				return true, err
			}
			f.Set(nv)
			return true, nil
		}
	case []any:
		ml, _ := mv.([]any)
		ol, _ := ov.([]any)
		keys := objmerge.Keyed(key)
		if keys == nil || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Struct || len(ol) != f.Len() {
			return false, nil
		}
		return assignItems(f, keys, ol, ml, p)
	}
	return false, nil
}

// assignItems sets the items of the keyed list f (typed, converted from
// ol) that partial's items name from their merged values (ml: ol with
// them merged in, new items at the end): items already there part by
// part, new ones converted whole. The slice is copied first.
func assignItems(f reflect.Value, keys []string, ol, ml, partial []any) (bool, error) {
	items := reflect.MakeSlice(f.Type(), len(ml), len(ml))
	reflect.Copy(items, f)
	for _, pi := range partial {
		im, ok := pi.(map[string]any)
		if !ok {
			return false, nil
		}
		i := objmerge.IndexOf(ml, im, keys)
		if i < 0 {
			return false, nil
		}
		mi, _ := ml[i].(map[string]any)
		if i < len(ol) {
			oi, _ := ol[i].(map[string]any)
			if err := assignFields(items.Index(i), oi, mi, im); err != nil {
				return true, err
			}
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(mi, items.Index(i).Addr().Interface()); err != nil {
			return true, err
		}
	}
	f.Set(items)
	return true, nil
}

// isScalar reports whether a JSON value is a string, number or bool.
func isScalar(v any) bool {
	switch v.(type) {
	case string, bool, int64, float64, int, int32:
		return true
	}
	return false
}

var fieldsByType sync.Map // reflect.Type → map[string][]int

// jsonFields maps a struct type's JSON field names to their field
// indexes, those of inlined structs (TypeMeta) included.
func jsonFields(t reflect.Type) map[string][]int {
	if m, ok := fieldsByType.Load(t); ok {
		return m.(map[string][]int)
	}
	m := map[string][]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if sf.Anonymous && (name == "" || strings.Contains(opts, "inline")) && sf.Type.Kind() == reflect.Struct {
			for k, idx := range jsonFields(sf.Type) {
				m[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		m[name] = []int{i}
	}
	fieldsByType.Store(t, m)
	return m
}
