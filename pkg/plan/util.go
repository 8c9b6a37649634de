package plan

import (
	"encoding/json"
	"sort"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// escape encodes a JSON pointer token (RFC 6901).
func escape(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && jsonpatch.Equal(ja, jb)
}
