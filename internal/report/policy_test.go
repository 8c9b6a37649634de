package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
)

// Every audit format names the policy file used, and none names one when
// there is none.
func TestAuditFormatsNamePolicy(t *testing.T) {
	ref := &policy.Ref{Path: "/repo/.harden.yaml", SHA256: strings.Repeat("ab", 32)}
	rep := &audit.Report{APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 100,
		Namespaces: []audit.Namespace{{Name: "shop", Score: 100}}}
	formats := map[string]func(*bytes.Buffer, *audit.Report) error{
		"table": func(b *bytes.Buffer, r *audit.Report) error {
			return report.WriteAuditTable(b, r, report.NewStyles(false))
		},
		"json":     func(b *bytes.Buffer, r *audit.Report) error { return report.WriteAuditJSON(b, r) },
		"sarif":    func(b *bytes.Buffer, r *audit.Report) error { return report.WriteAuditSARIF(b, r) },
		"junit":    func(b *bytes.Buffer, r *audit.Report) error { return report.WriteAuditJUnit(b, r) },
		"markdown": func(b *bytes.Buffer, r *audit.Report) error { return report.WriteAuditMarkdown(b, r) },
	}
	for name, write := range formats {
		var without, with bytes.Buffer
		if err := write(&without, rep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		withRef := *rep
		withRef.Policy = ref
		if err := write(&with, &withRef); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(without.String(), ref.Path) {
			t.Errorf("%s names a policy file when none was used", name)
		}
		if !strings.Contains(with.String(), ref.Path) {
			t.Errorf("%s does not name the policy file:\n%s", name, with.String())
		}
	}
	var sarif bytes.Buffer
	withRef := *rep
	withRef.Policy = ref
	if err := report.WriteAuditSARIF(&sarif, &withRef); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Properties struct {
				Policy policy.Ref `json:"policy"`
			} `json:"properties"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(sarif.Bytes(), &log); err != nil || log.Runs[0].Properties.Policy != *ref {
		t.Errorf("SARIF run.properties.policy: %+v %v", log.Runs, err)
	}
}
