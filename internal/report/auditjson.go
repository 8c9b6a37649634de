package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
)

// WriteAuditJSON writes the report as indented JSON, one namespace at a
// time: the bytes are those of encoding the whole report at once, without
// holding a cluster's worth of JSON in memory.
func WriteAuditJSON(w io.Writer, rep *audit.Report) error {
	head := *rep
	head.Namespaces = nil
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	// The namespaces are the report's last field: stream them in its place.
	b, ok := bytes.CutSuffix(b, []byte("null\n}"))
	if !ok || rep.Namespaces == nil {
		_, err := w.Write(append(b, "null\n}\n"...))
		return err
	}
	out := bufio.NewWriter(w)
	out.Write(b)
	out.WriteString("[")
	for i := range rep.Namespaces {
		ns, err := json.MarshalIndent(&rep.Namespaces[i], "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			out.WriteString(",")
		}
		out.WriteString("\n    ")
		out.Write(ns)
	}
	if len(rep.Namespaces) > 0 {
		out.WriteString("\n  ")
	}
	out.WriteString("]\n}\n")
	return out.Flush()
}
