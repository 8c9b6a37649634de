package objmerge

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Merge never panics, leaves dst as it was, and its result holds what
// was merged in.
func FuzzMerge(f *testing.F) {
	f.Add(`{"containers":[{"name":"a","x":1}]}`, `{"containers":[{"name":"a","y":2},{"name":"b"}]}`)
	f.Add(`{"ports":[{"containerPort":80}]}`, `{"ports":[{"containerPort":80,"protocol":"TCP","name":"h"}]}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		var dst, src map[string]any
		if json.Unmarshal([]byte(a), &dst) != nil || json.Unmarshal([]byte(b), &src) != nil {
			return
		}
		kept := DeepCopy(dst)
		merged := Merge(dst, src)
		if !reflect.DeepEqual(dst, kept) {
			t.Fatalf("Merge(%s, %s) changed dst: %v", a, b, dst)
		}
		if !Contains(merged, src) {
			t.Fatalf("Merge(%s, %s) = %v does not contain the source", a, b, merged)
		}
		_ = Pick(merged, src)
		Prune(DeepCopy(merged), src, PickWithKeys(dst, src))
	})
}
