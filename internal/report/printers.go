package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
)

// The printer registry: one table per document kind from an -o value to
// the function that prints it, which the commands read for their
// dispatch, their flag validation and their completions.
//
// JSON and YAML are written here rather than by cli-runtime's
// printers.JSONPrinter/YAMLPrinter (genericclioptions.JSONYamlPrintFlags):
// those take a runtime.Object with apiVersion and kind (a rule list, a
// fleet has none), JSONPrinter indents by four spaces where every
// consumer of ours has read two since the first release, and the audit's
// JSON is streamed a namespace at a time (WriteAuditJSON) to keep a
// cluster's worth of JSON out of memory.

// PrintOptions is what a printer may use besides its document.
type PrintOptions struct {
	// Styles colours the table (NewStyles: --color).
	Styles Styles
	// HTML is the page's kubeconfig context and generation time; its
	// Generated also stamps the PolicyReports.
	HTML HTMLOptions
}

// AuditPrinter is one -o value of the audit: how it prints one cluster's
// report, and a fleet's (--context a,b or --all-contexts).
type AuditPrinter struct {
	Format string
	// Audit prints one cluster's report.
	Audit func(w io.Writer, rep *audit.Report, opt PrintOptions) error
	// Fleet prints several clusters' in one document; nil for a format
	// that reads or writes one cluster.
	Fleet func(w io.Writer, items []FleetItem, opt PrintOptions) error
}

// DefaultAuditFormat is the audit's format without -o.
const DefaultAuditFormat = "table"

// auditPrinters are the audit's formats, in the order help and errors
// list them.
var auditPrinters = []AuditPrinter{
	{Format: "table",
		Audit: func(w io.Writer, rep *audit.Report, opt PrintOptions) error {
			return WriteAuditTable(w, rep, opt.Styles)
		},
		Fleet: func(w io.Writer, items []FleetItem, opt PrintOptions) error {
			return WriteFleetTable(w, items, opt.Styles)
		}},
	{Format: "json",
		Audit: func(w io.Writer, rep *audit.Report, _ PrintOptions) error { return WriteAuditJSON(w, rep) },
		Fleet: func(w io.Writer, items []FleetItem, _ PrintOptions) error { return WriteFleetJSON(w, items) }},
	{Format: "yaml",
		Audit: func(w io.Writer, rep *audit.Report, _ PrintOptions) error { return WriteYAML(w, rep) },
		Fleet: func(w io.Writer, items []FleetItem, _ PrintOptions) error { return WriteYAML(w, NewFleetReport(items)) }},
	{Format: "sarif",
		Audit: func(w io.Writer, rep *audit.Report, _ PrintOptions) error { return WriteAuditSARIF(w, rep) },
		Fleet: func(w io.Writer, items []FleetItem, _ PrintOptions) error { return WriteFleetSARIF(w, items) }},
	{Format: "junit",
		Audit: func(w io.Writer, rep *audit.Report, _ PrintOptions) error { return WriteAuditJUnit(w, rep) },
		Fleet: func(w io.Writer, items []FleetItem, _ PrintOptions) error { return WriteFleetJUnit(w, items) }},
	{Format: "markdown",
		Audit: func(w io.Writer, rep *audit.Report, _ PrintOptions) error { return WriteAuditMarkdown(w, rep) },
		Fleet: func(w io.Writer, items []FleetItem, _ PrintOptions) error { return WriteFleetMarkdown(w, items) }},
	{Format: "html",
		Audit: func(w io.Writer, rep *audit.Report, opt PrintOptions) error { return WriteAuditHTML(w, rep, opt.HTML) },
		Fleet: writeFleetHTML},
	{Format: "policyreport",
		Audit: func(w io.Writer, rep *audit.Report, opt PrintOptions) error {
			return WriteAuditPolicyReports(w, rep, false, opt.HTML.Generated)
		}},
	{Format: "openreports",
		Audit: func(w io.Writer, rep *audit.Report, opt PrintOptions) error {
			return WriteAuditPolicyReports(w, rep, true, opt.HTML.Generated)
		}},
}

// writeFleetHTML is the fleet's page: the clusters that were audited (one
// not audited is named on stderr by the command).
func writeFleetHTML(w io.Writer, items []FleetItem, opt PrintOptions) error {
	var reps []*audit.Report
	for _, it := range items {
		if it.Report != nil {
			reps = append(reps, it.Report)
		}
	}
	return WriteAuditHTMLFleet(w, reps, opt.HTML)
}

// AuditFormats are the audit's -o values, in order.
func AuditFormats() []string {
	out := make([]string, len(auditPrinters))
	for i, p := range auditPrinters {
		out[i] = p.Format
	}
	return out
}

// FleetFormats are the -o values a fleet audit prints, in order.
func FleetFormats() []string {
	var out []string
	for _, p := range auditPrinters {
		if p.Fleet != nil {
			out = append(out, p.Format)
		}
	}
	return out
}

// AuditPrinterFor is the printer of an -o value ("" is
// DefaultAuditFormat); false for a value the audit does not print.
func AuditPrinterFor(format string) (AuditPrinter, bool) {
	if format == "" {
		format = DefaultAuditFormat
	}
	i := slices.IndexFunc(auditPrinters, func(p AuditPrinter) bool { return p.Format == format })
	if i < 0 {
		return AuditPrinter{}, false
	}
	return auditPrinters[i], true
}

// RunPrinter prints a whole harden run (every workload named) at its
// end: the report document and the plans it holds, in order; arg is what
// follows "=" in the -o value (kustomize=DIR: the directory).
type RunPrinter func(w io.Writer, doc Report, plans []*plan.Plan, arg string) error

// HardenPrinter is one -o value of kubectl harden TYPE/NAME.
type HardenPrinter struct {
	Format string
	// Arg names the value after "=" the format requires (kustomize=DIR);
	// "" for none.
	Arg string
	// Run prints the run at its end; nil for a format the command prints
	// workload by workload as each is done (text, diff).
	Run RunPrinter
}

// DefaultHardenFormat is what harden prints without -o when it is not on
// a terminal.
const DefaultHardenFormat = "text"

// hardenPrinters are harden's formats, in the order help and errors list
// them.
var hardenPrinters = []HardenPrinter{
	{Format: "text"},
	{Format: "json", Run: func(w io.Writer, doc Report, _ []*plan.Plan, _ string) error { return WriteJSON(w, doc) }},
	{Format: "yaml", Run: func(w io.Writer, doc Report, _ []*plan.Plan, _ string) error { return WriteYAML(w, doc) }},
	{Format: "diff"},
	{Format: "patch", Run: writePatches},
	{Format: "kustomize", Arg: "DIR", Run: writeKustomizeDir},
}

// writePatches is -o patch: one JSON array for the run, so several
// workloads still make one document.
func writePatches(w io.Writer, _ Report, plans []*plan.Plan, _ string) error {
	entries, err := Patches(plans)
	if err != nil {
		return err
	}
	return WriteJSON(w, entries)
}

// writeKustomizeDir is -o kustomize=DIR: the overlay written to dir, and
// one line on w saying where and how to use it.
func writeKustomizeDir(w io.Writer, _ Report, plans []*plan.Plan, dir string) error {
	files, err := WriteKustomize(dir, plans)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "wrote %s (%d files): kubectl kustomize %s builds the hardened objects; commit it where your GitOps tool syncs from (%s says how to use your own base)\n",
		filepath.Join(dir, "kustomization.yaml"), len(files), dir, filepath.Join(dir, "README.md"))
	return err
}

// HardenFormats are harden's -o values, in order, as help writes them
// (kustomize=DIR).
func HardenFormats() []string {
	out := make([]string, len(hardenPrinters))
	for i, p := range hardenPrinters {
		out[i] = p.Format
		if p.Arg != "" {
			out[i] += "=" + p.Arg
		}
	}
	return out
}

// HardenPrinterFor is the printer of an -o value ("" is
// DefaultHardenFormat) and the argument after its "="; false for a value
// harden does not print, or an argument where the format takes none.
func HardenPrinterFor(output string) (HardenPrinter, string, bool) {
	if output == "" {
		output = DefaultHardenFormat
	}
	format, arg, hasArg := strings.Cut(output, "=")
	i := slices.IndexFunc(hardenPrinters, func(p HardenPrinter) bool { return p.Format == format })
	if i < 0 || hasArg != (hardenPrinters[i].Arg != "") {
		return HardenPrinter{}, "", false
	}
	return hardenPrinters[i], arg, true
}

// WriteJSON writes v as JSON indented by two spaces, with a final
// newline: the JSON of every -o json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteYAML writes v as YAML, through its JSON form (sigs.k8s.io/yaml,
// as kubectl does): the field names and omissions of the JSON.
func WriteYAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
