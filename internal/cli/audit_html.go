package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// parseHTMLOutput turns -o html=FILE into -o html and the file to write;
// -o html alone writes the page to stdout. Errors: an empty FILE, and a
// FILE in a directory that does not exist (said before anything is read).
func (o *AuditOptions) parseHTMLOutput() error {
	file, ok := strings.CutPrefix(o.Output, "html=")
	if !ok {
		return nil
	}
	if file == "" {
		return fmt.Errorf("-o html=FILE needs a file name, e.g. -o html=audit.html (or -o html for stdout)")
	}
	if dir := filepath.Dir(file); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("-o html=%s: directory %s does not exist", file, dir)
		}
	}
	o.Output, o.htmlFile = "html", file
	return nil
}

// writeHTML writes what render makes in the -o format (one cluster, or a
// fleet): for -o html=FILE to the file (whole or not at all: written
// beside it, then renamed, and announced on stderr), else to stdout.
// Every audit format is printed through it; only html takes a file.
func (o *AuditOptions) writeHTML(render func(io.Writer, report.HTMLOptions) error) error {
	opt := report.HTMLOptions{Generated: time.Now()}
	// A fleet has no session of its own (each cluster has one): its page
	// names each report's cluster instead of one context.
	if o.session != nil {
		opt.Context = o.context
	}
	if o.htmlFile == "" {
		return render(o.Out, opt)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.htmlFile), "."+filepath.Base(o.htmlFile)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := render(tmp, opt); err != nil {
		tmp.Close()
		return err
	}
	// CreateTemp makes it 0600; a report is for sharing, as a shell's
	// redirection would make it.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), o.htmlFile); err != nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "wrote the audit report to %s\n", termsafe.String(o.htmlFile))
	return nil
}
