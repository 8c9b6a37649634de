package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func TestAuditValidate(t *testing.T) {
	valid := func() *AuditOptions {
		return &AuditOptions{Kinds: []string{"Deployment"}, ChunkSize: 500, MinScore: -1, DryRun: "none",
			FieldManager: "kubectl-harden", Timeout: time.Minute, Color: "auto"}
	}
	for _, tc := range []struct {
		name string
		edit func(*AuditOptions)
		want string // "" when valid
	}{
		{"table", func(o *AuditOptions) {}, ""},
		{"sarif", func(o *AuditOptions) { o.Output = "sarif" }, ""},
		{"junit", func(o *AuditOptions) { o.Output = "junit" }, ""},
		{"markdown", func(o *AuditOptions) { o.Output = "markdown" }, ""},
		{"unknown format", func(o *AuditOptions) { o.Output = "pdf" }, `--output must be one of table, json, yaml, sarif, junit, markdown, html, policyreport, openreports or html=FILE, got "pdf"`},
		{"diff without fix", func(o *AuditOptions) { o.Output = "diff" }, "add --fix"},
		{"fix with diff", func(o *AuditOptions) { o.Fix = []string{"pdb"}; o.Output = "diff" }, ""},
		{"fix with sarif", func(o *AuditOptions) { o.Fix = []string{"pdb"}; o.Output = "sarif" }, "with --fix, --output must be table or diff"},
		{"fix unknown rule", func(o *AuditOptions) { o.Fix = []string{"pdbs"} }, "pdbs"},
		{"bad dry-run", func(o *AuditOptions) { o.Fix = []string{"pdb"}; o.DryRun = "yes" }, "--dry-run must be"},
		{"no field manager", func(o *AuditOptions) { o.Fix = []string{"pdb"}; o.FieldManager = "" }, "--field-manager"},
		{"zero timeout", func(o *AuditOptions) { o.Fix = []string{"pdb"}; o.Timeout = 0 }, "--timeout"},
		{"color never", func(o *AuditOptions) { o.Color = "never" }, ""},
		{"bad color", func(o *AuditOptions) { o.Color = "bad" }, `--color must be "auto", "always" or "never", got "bad"`},
		{"set typo", func(o *AuditOptions) { o.Fix = []string{"all"}; o.Set = []string{"readines-probe.path=/x"} },
			`--set readines-probe.path=/x: unknown rule "readines-probe" (did you mean readiness-probe?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(o)
			var err error
			if o.selection, err = parseSelection(o.Fix, o.Skip, o.Set); err == nil {
				err = o.Validate()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// Only what --fix asked for counts for its exit status.
func TestPendingOf(t *testing.T) {
	res := func(rule string, st rules.Status) rules.Result {
		return rules.Result{Finding: rules.Finding{Rule: rule, Severity: rules.Medium}, Status: st}
	}
	rep := &audit.Report{Namespaces: []audit.Namespace{{Name: "shop", Workloads: []audit.Workload{
		{Kind: "Deployment", Name: "web", Findings: []rules.Result{res("pdb", rules.StatusFixed), res("spread", rules.StatusNeedsHuman), res("image", rules.StatusSkipped)}},
		{Kind: "Deployment", Name: "api", Findings: []rules.Result{res("pdb", rules.StatusExempted)}},
	}}}}
	for words, want := range map[string]int{"pdb": 0, "pdb,spread": 1, "availability": 1, "all": 2, "image": 1} {
		if got := pendingOf(rep, strings.Split(words, ",")); got != want {
			t.Errorf("pendingOf(%s) = %d, want %d", words, got, want)
		}
	}
}
