package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
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

// A spool gives the bytes of the whole report marshalled, JSON and YAML,
// whatever order its namespaces were added in (concurrently, in reverse),
// from a temporary file or from memory, and read again after Reset.
func TestSpoolMatchesWholeReport(t *testing.T) {
	// The demo namespace three times, sorted by name: "demo" before
	// "demo-a", which the API server lists first ("demo-a/" < "demo/").
	full := demoAudit(t)
	for _, n := range []string{"b", "demo-a"} {
		ns := full.Namespaces[0]
		ns.Name = n
		full.Namespaces = append(full.Namespaces, ns)
	}
	sort.Slice(full.Namespaces, func(i, j int) bool { return full.Namespaces[i].Name < full.Namespaces[j].Name })
	for name, rep := range map[string]*audit.Report{
		"full":          full,
		"no namespaces": {APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 100},
		"empty list":    {APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 100, Namespaces: []audit.Namespace{}},
	} {
		for _, format := range []string{"json", "yaml"} {
			var want bytes.Buffer
			if format == "json" {
				enc := json.NewEncoder(&want)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					t.Fatal(err)
				}
			} else if err := WriteYAML(&want, rep); err != nil {
				t.Fatal(err)
			}
			for _, dir := range []string{t.TempDir(), "/nonexistent"} { // a file; memory
				s := NewSpool(format, dir)
				if err := s.Add(&audit.Namespace{Name: "read-before-reset"}); err != nil {
					t.Fatal(err)
				}
				if left, _ := os.ReadDir(dir); len(left) > 0 && runtime.GOOS != "windows" {
					t.Errorf("the spool's file %s has a name while open: an audit killed now would leave it", left[0].Name())
				}
				s.Reset()
				var wg sync.WaitGroup
				for i := len(rep.Namespaces) - 1; i >= 0; i-- {
					wg.Go(func() {
						if err := s.Add(&rep.Namespaces[i]); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				// The report as spilled: namespaces without their entries.
				head := *rep
				if rep.Namespaces != nil {
					head.Namespaces = make([]audit.Namespace, len(rep.Namespaces))
				}
				var got bytes.Buffer
				if err := s.Write(&got, &head); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Error(err)
				}
				if left, _ := os.ReadDir(dir); len(left) > 0 {
					t.Errorf("the spool left %s in %s", left[0].Name(), dir)
				}
				if got.String() != want.String() {
					t.Errorf("%s, %s, spool in %s: differs:\n--- whole\n%s\n--- spooled\n%s", name, format, dir, want.String(), got.String())
				}
			}
		}
	}
}

// A spool whose file stops taking writes (its file system full: TMPDIR
// on a small tmpfs) goes on in memory with what the file held: the
// report is still whole, as an audit without a spool would write it.
func TestSpoolFullFileGoesOnInMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reopens the spool's unlinked file through /proc/self/fd")
	}
	a, b := &audit.Namespace{Name: "a", Score: 10}, &audit.Namespace{Name: "b", Score: 20}
	whole := &audit.Report{APIVersion: audit.APIVersion, Kind: audit.Kind, Score: 15, Namespaces: []audit.Namespace{*a, *b}}
	for _, format := range []string{"json", "yaml"} {
		var want bytes.Buffer
		mem := NewSpool(format, "/nonexistent")
		for _, n := range []*audit.Namespace{b, a} {
			if err := mem.Add(n); err != nil {
				t.Fatal(err)
			}
		}
		if err := mem.Write(&want, whole); err != nil {
			t.Fatal(err)
		}
		s := NewSpool(format, t.TempDir())
		if s.file == nil {
			t.Fatal("no spool file in a writable directory")
		}
		if err := s.Add(b); err != nil {
			t.Fatal(err)
		}
		// The same open file, read-only: every later write fails, as on a
		// full file system, while what it holds can still be read.
		ro, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", s.file.Fd()))
		if err != nil {
			t.Skip(err)
		}
		s.file.Close()
		s.file = ro
		if err := s.Add(a); err != nil {
			t.Fatalf("%s: a full spool file fails the audit: %v", format, err)
		}
		var got bytes.Buffer
		if err := s.Write(&got, whole); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: differs:\n--- in memory\n%s\n--- after the file filled\n%s", format, want.String(), got.String())
		}
	}
}
