package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
)

// Streaming changes nothing: the bytes are json.Encoder's with an indent.
func TestWriteAuditJSONMatchesEncoder(t *testing.T) {
	full := demoAudit(t)
	for name, rep := range map[string]*audit.Report{
		"full":          full,
		"no namespaces": {APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 100},
		"empty list":    {APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 100, Namespaces: []audit.Namespace{}},
	} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			t.Fatal(err)
		}
		if err := WriteAuditJSON(&got, rep); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: streamed JSON differs:\n--- encoder\n%s\n--- streamed\n%s", name, want.String(), got.String())
		}
	}
}
