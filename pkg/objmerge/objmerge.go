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

// Merge merges src into dst (both JSON-shaped) and returns dst.
func Merge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, sv := range src {
		dst[k] = mergeValue(k, dst[k], sv)
	}
	return dst
}

func mergeValue(field string, dv, sv any) any {
	switch s := sv.(type) {
	case map[string]any:
		if d, ok := dv.(map[string]any); ok {
			return Merge(d, s)
		}
		return Merge(map[string]any{}, s)
	case []any:
		keys, keyed := listKeys[field]
		d, ok := dv.([]any)
		if !keyed || keys == nil || !ok {
			return DeepCopy(s)
		}
		out := append([]any{}, d...)
		for _, item := range s {
			im, ok := item.(map[string]any)
			if !ok {
				return DeepCopy(s)
			}
			i := indexOf(out, im, keys)
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

func indexOf(list []any, item map[string]any, keys []string) int {
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
		if fmt.Sprint(av) != fmt.Sprint(bv) {
			return false
		}
	}
	return true
}

// DeepCopy copies a JSON-shaped value.
func DeepCopy[T any](v T) T {
	return deepCopy(v).(T)
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
