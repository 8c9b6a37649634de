package cli

import (
	"bytes"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
)

// -o html and -o html=FILE: which are valid, what the file becomes.
func TestAuditHTMLOutput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, output string
		fix          []string
		want         string // "" when valid
		file         string // the file parsed from html=FILE
	}{
		{"stdout", "html", nil, "", ""},
		{"file", "html=" + filepath.Join(dir, "a.html"), nil, "", filepath.Join(dir, "a.html")},
		{"relative file", "html=audit.html", nil, "", "audit.html"},
		{"no file", "html=", nil, "-o html=FILE needs a file name", ""},
		{"no directory", "html=" + filepath.Join(dir, "missing", "a.html"), nil, "does not exist", ""},
		{"with fix", "html=" + filepath.Join(dir, "a.html"), []string{"pdb"}, "with --fix, --output must be table or diff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &AuditOptions{Kinds: []string{"Deployment"}, ChunkSize: 500, MinScore: -1, DryRun: "none",
				FieldManager: "kubectl-harden", Timeout: time.Minute, Color: "auto", Output: tc.output, Fix: tc.fix}
			var err error
			if o.selection, err = parseSelection(o.Fix, o.Skip, o.Set); err == nil {
				err = o.Validate()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one with %q", err, tc.want)
			case tc.want == "" && (o.Output != "html" || o.htmlFile != tc.file):
				t.Errorf("parsed to -o %q, file %q; want html, %q", o.Output, o.htmlFile, tc.file)
			}
		})
	}
}

// -o html=FILE writes the whole page to FILE, readable by others, leaves
// no temporary file, prints nothing on stdout and says where it wrote.
func TestAuditWriteHTMLFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.html")
	var out, errOut bytes.Buffer
	o := &AuditOptions{IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, htmlFile: file, session: &session{context: "ctx-<a>"}}
	rep := &audit.Report{APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 100}
	if err := o.writeHTML(func(w io.Writer, opt report.HTMLOptions) error { return report.WriteAuditHTML(w, rep, opt) }); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || !strings.Contains(string(page), "ctx-&lt;a&gt;") || !strings.HasSuffix(strings.TrimSpace(string(page)), "</html>") {
		t.Errorf("page:\n%s", page)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	if out.Len() != 0 || errOut.String() != "wrote the audit report to "+file+"\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}
