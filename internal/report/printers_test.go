package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
)

// The registry is the one list of formats: the audit's in the order its
// errors list them, the fleet's the subset with a fleet printer, and ""
// the default.
func TestAuditPrinters(t *testing.T) {
	want := []string{"table", "json", "yaml", "sarif", "junit", "markdown", "html", "policyreport", "openreports"}
	if got := AuditFormats(); !slices.Equal(got, want) {
		t.Errorf("AuditFormats() = %v, want %v", got, want)
	}
	if got := FleetFormats(); !slices.Equal(got, want[:7]) {
		t.Errorf("FleetFormats() = %v, want %v", got, want[:7])
	}
	if p, ok := AuditPrinterFor(""); !ok || p.Format != "table" {
		t.Errorf(`AuditPrinterFor("") = %q, %v; want table`, p.Format, ok)
	}
	for _, bad := range []string{"pdf", "diff", "html=x.html"} {
		if _, ok := AuditPrinterFor(bad); ok {
			t.Errorf("AuditPrinterFor(%q) found a printer", bad)
		}
	}
}

// Each audit printer writes what its own writer does, for one cluster
// and, where it has one, for a fleet.
func TestAuditPrintersWrite(t *testing.T) {
	rep := &audit.Report{Score: 80, Workloads: 1, Cluster: "c1", Namespaces: []audit.Namespace{{Name: "shop", Score: 80}}}
	opt := PrintOptions{HTML: HTMLOptions{Context: "ctx", Generated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	direct := map[string]func(*bytes.Buffer) error{
		"table":        func(b *bytes.Buffer) error { return WriteAuditTable(b, rep, opt.Styles) },
		"json":         func(b *bytes.Buffer) error { return WriteAuditJSON(b, rep) },
		"sarif":        func(b *bytes.Buffer) error { return WriteAuditSARIF(b, rep) },
		"junit":        func(b *bytes.Buffer) error { return WriteAuditJUnit(b, rep) },
		"markdown":     func(b *bytes.Buffer) error { return WriteAuditMarkdown(b, rep) },
		"html":         func(b *bytes.Buffer) error { return WriteAuditHTML(b, rep, opt.HTML) },
		"policyreport": func(b *bytes.Buffer) error { return WriteAuditPolicyReports(b, rep, false, opt.HTML.Generated) },
		"openreports":  func(b *bytes.Buffer) error { return WriteAuditPolicyReports(b, rep, true, opt.HTML.Generated) },
	}
	for format, write := range direct {
		p, _ := AuditPrinterFor(format)
		var got, want bytes.Buffer
		if err := p.Audit(&got, rep, opt); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if err := write(&want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || got.Len() == 0 {
			t.Errorf("%s: the registry's printer wrote %d bytes, its writer %d", format, got.Len(), want.Len())
		}
	}
	items := []FleetItem{{Cluster: "c1", Report: rep}, {Cluster: "c2", Error: "connection refused"}}
	p, _ := AuditPrinterFor("yaml")
	var fleet bytes.Buffer
	if err := p.Fleet(&fleet, items, opt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fleet.String(), "kind: "+FleetListKind) || !strings.Contains(fleet.String(), "connection refused") {
		t.Errorf("fleet yaml:\n%s", fleet.String())
	}
	p, _ = AuditPrinterFor("html")
	fleet.Reset()
	if err := p.Fleet(&fleet, items, opt); err != nil || !strings.Contains(fleet.String(), "c1") {
		t.Errorf("fleet html: %v, %d bytes", err, fleet.Len())
	}
}

// harden's formats: kustomize takes =DIR, the others no argument; text
// and diff print workload by workload (no Run).
func TestHardenPrinters(t *testing.T) {
	if got, want := HardenFormats(), []string{"text", "json", "yaml", "diff", "patch", "kustomize=DIR"}; !slices.Equal(got, want) {
		t.Errorf("HardenFormats() = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		output, format, arg string
		ok, run             bool
	}{
		{"", "text", "", true, false},
		{"diff", "diff", "", true, false},
		{"json", "json", "", true, true},
		{"patch", "patch", "", true, true},
		{"kustomize=out", "kustomize", "out", true, true},
		{"kustomize=", "kustomize", "", true, true},
		{"kustomize", "", "", false, false},
		{"json=x", "", "", false, false},
		{"sarif", "", "", false, false},
	} {
		p, arg, ok := HardenPrinterFor(tc.output)
		if ok != tc.ok || p.Format != tc.format || arg != tc.arg || (p.Run != nil) != tc.run {
			t.Errorf("HardenPrinterFor(%q) = %q, %q, %v (run %v)", tc.output, p.Format, arg, ok, p.Run != nil)
		}
	}
	p, _, _ := HardenPrinterFor("json")
	var out bytes.Buffer
	doc := Report{APIVersion: APIVersion, Kind: Kind}
	if err := p.Run(&out, doc, nil, ""); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.Kind != Kind || !strings.HasPrefix(out.String(), "{\n  \"") {
		t.Errorf("-o json: %v\n%s", err, out.String())
	}
}
