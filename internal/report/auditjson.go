package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
)

// WriteAuditJSON writes the report as json.Encoder with a two-space indent
// does, one namespace at a time: a cluster's report is never held whole
// as JSON.
func WriteAuditJSON(w io.Writer, rep *audit.Report) error {
	out := bufio.NewWriter(w)
	head := *rep
	head.Namespaces = nil
	err := writeJSON(out, head, rep.Namespaces != nil, len(rep.Namespaces), func(i int, w io.Writer) error {
		b, err := renderJSON(&rep.Namespaces[i])
		if err == nil {
			_, err = w.Write(b)
		}
		return err
	})
	if err != nil {
		return err
	}
	return out.Flush()
}

// renderJSON is one namespace as it stands in the report's JSON.
func renderJSON(ns *audit.Namespace) ([]byte, error) { return json.MarshalIndent(ns, "    ", "  ") }

// Spool holds an audit's namespaces rendered as JSON or YAML as they are
// scored (audit.Auditor.Spill), in a temporary file, so that an audit's
// memory follows its largest namespace rather than the cluster, and
// writes the report at the end: the same bytes as the whole report
// marshalled (json.Encoder with a two-space indent; sigs.k8s.io/yaml),
// namespaces sorted by name whatever order they were added in. Where no
// temporary file can be made (a read-only file system), it holds them in
// memory. Add is safe for concurrent use.
type Spool struct {
	format string // "json" or "yaml"
	mu     sync.Mutex
	file   *os.File // nil: in mem
	// unlinked: the file's name is already removed.
	unlinked bool
	mem      bytes.Buffer
	size     int64
	chunks   []chunk
}

// chunk is one rendered namespace: where it is in the spool.
type chunk struct {
	name string
	off  int64
	n    int
}

// NewSpool returns a spool of format ("json" or "yaml") whose file is in
// dir ("" for os.TempDir).
func NewSpool(format, dir string) *Spool {
	s := &Spool{format: format}
	if f, err := os.CreateTemp(dir, "kubectl-harden-audit-*"); err == nil {
		s.file = f
		// Unlinked at once where the system allows it (not Windows): the
		// open file stays readable, and nothing is left behind by an audit
		// killed or stopped at once by a second ctrl+c.
		s.unlinked = os.Remove(f.Name()) == nil
	}
	return s
}

// Add renders one namespace onto the spool.
func (s *Spool) Add(ns *audit.Namespace) error {
	var b []byte
	var err error
	if s.format == "yaml" {
		b, err = yaml.Marshal([]*audit.Namespace{ns})
	} else {
		b, err = renderJSON(ns)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		if _, err := s.file.WriteAt(b, s.size); err != nil {
			// A full temporary file system (a small tmpfs) must not fail
			// an audit that needs no file: go on in memory.
			if err := s.toMemory(); err != nil {
				return fmt.Errorf("spooling the audit report: %w", err)
			}
		}
	}
	if s.file == nil {
		s.mem.Write(b)
	}
	s.chunks = append(s.chunks, chunk{name: ns.Name, off: s.size, n: len(b)})
	s.size += int64(len(b))
	return nil
}

// toMemory moves what the spool's file holds (s.size bytes) to memory and
// closes the file, for a file that takes no more writes. The chunks'
// offsets stay as they are. An error is the file's read; the spool then
// stays on its file.
func (s *Spool) toMemory() error {
	s.mem.Reset()
	if _, err := io.Copy(&s.mem, io.NewSectionReader(s.file, 0, s.size)); err != nil {
		s.mem.Reset()
		return err
	}
	s.Close()
	s.file = nil
	return nil
}

// Reset forgets every namespace added (the scope is read again).
func (s *Spool) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks, s.size = nil, 0
	s.mem.Reset()
}

// Write writes the report: rep's fields, with the spooled namespaces in
// place of rep.Namespaces (null when rep has none and none was added).
func (s *Spool) Write(w io.Writer, rep *audit.Report) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.SliceStable(s.chunks, func(i, j int) bool { return s.chunks[i].name < s.chunks[j].name })
	head := *rep
	head.Namespaces = nil
	out := bufio.NewWriter(w)
	var err error
	if s.format == "yaml" {
		err = s.writeYAML(out, head, rep.Namespaces != nil)
	} else {
		err = writeJSON(out, head, rep.Namespaces != nil, len(s.chunks), func(i int, w io.Writer) error { return s.copy(w, s.chunks[i]) })
	}
	if err != nil {
		return err
	}
	return out.Flush()
}

// writeJSON writes head, whose last field is the namespaces, with n
// items written by item as its value (null when there is no list and no
// item).
func writeJSON(out *bufio.Writer, head audit.Report, list bool, n int, item func(i int, w io.Writer) error) error {
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	b, ok := bytes.CutSuffix(b, []byte("null\n}"))
	if !ok || !list && n == 0 {
		_, err := out.Write(append(b, "null\n}\n"...))
		return err
	}
	out.Write(b)
	out.WriteString("[")
	for i := range n {
		if i > 0 {
			out.WriteString(",")
		}
		out.WriteString("\n    ")
		if err := item(i, out); err != nil {
			return err
		}
	}
	if n > 0 {
		out.WriteString("\n  ")
	}
	_, err = out.WriteString("]\n}\n")
	return err
}

// writeYAML writes head (keys sorted, as sigs.k8s.io/yaml writes them)
// with the chunks, each a one-item sequence, as the namespaces' value.
func (s *Spool) writeYAML(out *bufio.Writer, head audit.Report, list bool) error {
	b, err := yaml.Marshal(head)
	if err != nil {
		return err
	}
	before, after, ok := bytes.Cut(b, []byte("\nnamespaces: null\n"))
	if !ok || !list && len(s.chunks) == 0 {
		_, err := out.Write(b)
		return err
	}
	out.Write(before)
	if len(s.chunks) == 0 {
		out.WriteString("\nnamespaces: []\n")
	} else {
		out.WriteString("\nnamespaces:\n")
	}
	for _, c := range s.chunks {
		if err := s.copy(out, c); err != nil {
			return err
		}
	}
	_, err = out.Write(after)
	return err
}

// copy writes one chunk.
func (s *Spool) copy(out io.Writer, c chunk) error {
	if s.file == nil {
		_, err := out.Write(s.mem.Bytes()[c.off : c.off+int64(c.n)])
		return err
	}
	_, err := io.Copy(out, io.NewSectionReader(s.file, c.off, int64(c.n)))
	return err
}

// Close closes the spool's file and removes it.
func (s *Spool) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	if !s.unlinked {
		err = os.Remove(s.file.Name())
	}
	return err
}
