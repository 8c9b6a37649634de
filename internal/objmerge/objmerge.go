// Package objmerge merges partial Kubernetes objects the way server-side
// apply does for the built-in types harden changes: maps merge field by
// field, lists that the API declares as maps merge item by item on their
// keys (containers by name, topologySpreadConstraints by topologyKey and
// whenUnsatisfiable, …), and any other list is atomic and replaced.
package objmerge

import (
	"fmt"
	"reflect"
)

// listKeys are the key fields of the keyed lists harden's fixes touch
// (+listType=map in the API types); other lists are atomic.
var listKeys = map[string][]string{
	"containers":                {"name"},
	"initContainers":            {"name"},
	"ephemeralContainers":       {"name"},
	"env":                       {"name"},
	"volumes":                   {"name"},
	"volumeMounts":              {"mountPath"},
	"ports":                     {"containerPort", "protocol"},
	"imagePullSecrets":          {"name"},
	"topologySpreadConstraints": {"topologyKey", "whenUnsatisfiable"},
	"metrics":                   nil, // atomic in HPA v2
}

// defaults fill key fields the API defaults, so {containerPort: 80} and
// {containerPort: 80, protocol: TCP} are the same item.
var keyDefaults = map[string]any{"protocol": "TCP"}

// Merge returns dst (JSON-shaped) with src merged in, as a new map that
// shares with dst every part src leaves alone: dst itself is not changed,
// and neither may be changed in place afterwards (DeepCopy first for
// that). Projecting a fix on a live object copies only the paths the fix
// writes, not the object.
func Merge(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, sv := range src {
		out[k] = mergeValue(k, out[k], sv)
	}
	return out
}

func mergeValue(field string, dv, sv any) any {
	switch s := sv.(type) {
	case map[string]any:
		d, _ := dv.(map[string]any)
		return Merge(d, s)
	case []any:
		keys, keyed := listKeys[field]
		if !keyed || keys == nil {
			return DeepCopy(s)
		}
		// Items merge one by one, into an empty list too, so items with
		// the same key (invalid for the API) collapse the same way.
		d, _ := dv.([]any)
		out := append(make([]any, 0, len(d)+len(s)), d...)
		for _, item := range s {
			im, ok := item.(map[string]any)
			if !ok {
				return DeepCopy(s)
			}
			i := IndexOf(out, im, keys)
			if i < 0 {
				out = append(out, DeepCopy(im))
				continue
			}
			out[i] = Merge(out[i].(map[string]any), im)
		}
		return out
	}
	return sv
}

// Keyed returns the key fields of the list field (containers: name), nil
// for an atomic list.
func Keyed(field string) []string { return listKeys[field] }

// IndexOf returns the index of the item of list with item's keys (keys
// from Keyed), -1 for none.
func IndexOf(list []any, item map[string]any, keys []string) int {
	for i, e := range list {
		em, ok := e.(map[string]any)
		if ok && sameKey(em, item, keys) {
			return i
		}
	}
	return -1
}

func sameKey(a, b map[string]any, keys []string) bool {
	for _, k := range keys {
		av, bv := a[k], b[k]
		if av == nil {
			av = keyDefaults[k]
		}
		if bv == nil {
			bv = keyDefaults[k]
		}
		if av != bv && fmt.Sprint(av) != fmt.Sprint(bv) { // 80 and 80.0 are one port
			return false
		}
	}
	return true
}

// DeepCopy copies a JSON-shaped value.
func DeepCopy[T any](v T) T {
	c, _ := deepCopy(v).(T) // nil stays the zero value
	return c
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// Contains reports whether every field of partial is present in obj with
// the same value (keyed lists compared item by item): applying partial to
// obj would change nothing.
func Contains(obj, partial map[string]any) bool {
	merged := Merge(DeepCopy(obj), partial)
	return reflect.DeepEqual(normalize(merged), normalize(obj))
}

// normalize makes JSON numbers comparable whatever their Go type.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = normalize(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = normalize(e)
		}
		return l
	case int:
		return float64(t)
	case int32:
		return float64(t)
	case int64:
		return float64(t)
	}
	return v
}

// Pick returns the parts of obj found at the positions shape names: maps
// field by field, keyed lists item by item (an item is kept only when it
// has more than its keys), atomic lists and scalars whole. Positions obj
// lacks are left out. It answers "what did these fields hold before?".
func Pick(obj, shape map[string]any) map[string]any { return pick(obj, shape, false) }

// PickWithKeys is Pick keeping the keyed list items that have only their
// keys: it records which items existed.
func PickWithKeys(obj, shape map[string]any) map[string]any { return pick(obj, shape, true) }

func pick(obj, shape map[string]any, keepKeys bool) map[string]any {
	out := map[string]any{}
	for k, sv := range shape {
		ov, ok := obj[k]
		if !ok {
			continue
		}
		if v, keep := pickValue(k, ov, sv, keepKeys); keep {
			out[k] = v
		}
	}
	return out
}

func pickValue(field string, ov, sv any, keepKeys bool) (any, bool) {
	switch s := sv.(type) {
	case map[string]any:
		o, ok := ov.(map[string]any)
		if !ok {
			return DeepCopy(ov), true
		}
		m := pick(o, s, keepKeys)
		return m, len(m) > 0 || keepKeys
	case []any:
		keys, keyed := listKeys[field]
		o, ok := ov.([]any)
		if !keyed || keys == nil || !ok {
			return DeepCopy(ov), true
		}
		var items []any
		for _, item := range s {
			im, ok := item.(map[string]any)
			if !ok {
				return DeepCopy(ov), true
			}
			i := IndexOf(o, im, keys)
			if i < 0 {
				continue
			}
			picked := pick(o[i].(map[string]any), im, keepKeys)
			if !keepKeys && hasOnly(picked, keys) {
				continue
			}
			for _, k := range keys {
				if v, ok := o[i].(map[string]any)[k]; ok {
					picked[k] = v
				}
			}
			items = append(items, picked)
		}
		return items, len(items) > 0
	}
	return ov, true
}

func hasOnly(m map[string]any, keys []string) bool {
	for k := range m {
		found := false
		for _, key := range keys {
			found = found || k == key
		}
		if !found {
			return false
		}
	}
	return true
}

// Prune removes from obj every position of shape that ref lacks: after an
// undo restored the values ref holds, it takes away what did not exist.
// ref must come from PickWithKeys, so list items that existed are kept.
func Prune(obj, shape, ref map[string]any) {
	for k, sv := range shape {
		ov, inObj := obj[k]
		if !inObj {
			continue
		}
		rv, inRef := ref[k]
		if !inRef {
			delete(obj, k)
			continue
		}
		switch s := sv.(type) {
		case map[string]any:
			om, ok1 := ov.(map[string]any)
			rm, ok2 := rv.(map[string]any)
			if ok1 && ok2 {
				Prune(om, s, rm)
			}
		case []any:
			keys := listKeys[k]
			ol, ok1 := ov.([]any)
			rl, ok2 := rv.([]any)
			if keys == nil || !ok1 || !ok2 {
				continue
			}
			for _, item := range s {
				im, ok := item.(map[string]any)
				if !ok {
					continue
				}
				oi := IndexOf(ol, im, keys)
				if oi < 0 {
					continue
				}
				ri := IndexOf(rl, im, keys)
				if ri < 0 {
					ol = append(ol[:oi], ol[oi+1:]...)
					continue
				}
				Prune(ol[oi].(map[string]any), im, rl[ri].(map[string]any))
			}
			obj[k] = ol
		}
	}
}
