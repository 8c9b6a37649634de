package plan

import (
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"
)

// YAML renders an object as YAML with sorted keys; "" for nil.
func YAML(obj map[string]any) string {
	if obj == nil {
		return ""
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return fmt.Sprintf("# cannot render: %v\n", err)
	}
	return string(b)
}

// Diff is the unified diff of the object's before and after YAML, with
// headers like kubectl diff's.
func (o *Object) Diff() string {
	name := o.Ref()
	if o.Namespace != "" {
		name = o.Namespace + "/" + name
	}
	from := "live/" + name
	if o.Create {
		from = "/dev/null"
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(YAML(o.Before)), B: lines(YAML(o.After)),
		FromFile: from, ToFile: "hardened/" + name, Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("# cannot diff %s: %v\n", name, err)
	}
	return d
}

// Diff is every object's diff, in plan order.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, o := range p.Objects {
		b.WriteString(o.Diff())
	}
	return b.String()
}

// Operation is one RFC 6902 operation.
type Operation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// MarshalJSON writes value for every operation but remove, even when it
// is null: {"op":"add","path":"/x","value":null} sets x to null.
func (o Operation) MarshalJSON() ([]byte, error) {
	if o.Op == "remove" {
		return json.Marshal(struct {
			Op   string `json:"op"`
			Path string `json:"path"`
		}{o.Op, o.Path})
	}
	return json.Marshal(struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}{o.Op, o.Path, o.Value})
}

// Patch returns the RFC 6902 JSON patch from Before to After, checked by
// applying it to Before with evanphx/json-patch: the result must equal
// After. A created object is one "add" of the whole object at the root.
func (o *Object) Patch() ([]Operation, error) {
	if o.Create {
		return []Operation{{Op: "add", Path: "", Value: o.After}}, nil
	}
	ops := diffOps("", o.Before, o.After, nil)
	before, err := jsonMarshal(o.Before)
	if err != nil {
		return nil, err
	}
	after, err := jsonMarshal(o.After)
	if err != nil {
		return nil, err
	}
	raw, err := jsonMarshal(ops)
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		return nil, fmt.Errorf("patch for %s: %w", o.Ref(), err)
	}
	got, err := patch.Apply(before)
	if err != nil {
		return nil, fmt.Errorf("patch for %s does not apply: %w", o.Ref(), err)
	}
	if !jsonpatch.Equal(got, after) {
		return nil, fmt.Errorf("patch for %s does not reproduce the hardened object", o.Ref())
	}
	return ops, nil
}

// diffOps lists the operations turning a into b. Maps are diffed field by
// field; a list that differs is replaced whole unless only items were
// appended or changed in place.
func diffOps(path string, a, b any, ops []Operation) []Operation {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return append(ops, Operation{Op: "replace", Path: path, Value: b})
		}
		for _, k := range sortedKeys(av) {
			p := path + "/" + escape(k)
			if bvk, ok := bv[k]; ok {
				ops = diffOps(p, av[k], bvk, ops)
			} else {
				ops = append(ops, Operation{Op: "remove", Path: p})
			}
		}
		for _, k := range sortedKeys(bv) {
			if _, ok := av[k]; !ok {
				ops = append(ops, Operation{Op: "add", Path: path + "/" + escape(k), Value: bv[k]})
			}
		}
		return ops
	case []any:
		bv, ok := b.([]any)
		if !ok || len(bv) < len(av) {
			return append(ops, Operation{Op: "replace", Path: path, Value: b})
		}
		for i := range av {
			ops = diffOps(fmt.Sprintf("%s/%d", path, i), av[i], bv[i], ops)
		}
		for i := len(av); i < len(bv); i++ {
			ops = append(ops, Operation{Op: "add", Path: path + "/-", Value: bv[i]})
		}
		return ops
	}
	if !jsonEqual(a, b) {
		return append(ops, Operation{Op: "replace", Path: path, Value: b})
	}
	return ops
}

// lines splits text into lines that keep their newline.
func lines(text string) []string {
	l := strings.SplitAfter(text, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}
