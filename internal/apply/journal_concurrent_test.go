package apply

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// audit --fix --parallel records several workloads' runs at once: each
// entry is one O_APPEND write of a whole line, so concurrent writers —
// to different workloads' files, and even to one file — never tear or
// lose a line.
func TestJournalConcurrentWriters(t *testing.T) {
	j := Journal{Dir: t.TempDir()}
	const workloads, entries = 6, 10
	big := strings.Repeat("x", 64<<10) // lines far above PIPE_BUF
	var wg sync.WaitGroup
	for w := range workloads {
		for writer := range 2 { // two writers on each file
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range entries {
					entry := &Entry{ID: fmt.Sprintf("w%d-%d-%d", w, writer, e), Time: time.Unix(0, 0), Action: "harden",
						Objects: []Change{{Kind: "Deployment", Name: fmt.Sprintf("web%d", w), Note: big}}}
					if err := j.Append("https://cluster", "shop", "Deployment", fmt.Sprintf("web%d", w), entry); err != nil {
						t.Error(err)
					}
				}
			}()
		}
	}
	wg.Wait()
	for w := range workloads {
		list, err := j.List("https://cluster", "shop", "Deployment", fmt.Sprintf("web%d", w))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2*entries {
			t.Errorf("web%d: %d entries read back, want %d (a torn or lost line)", w, len(list), 2*entries)
		}
		for _, e := range list {
			if len(e.Objects) != 1 || e.Objects[0].Note != big || e.Objects[0].Name != fmt.Sprintf("web%d", w) {
				t.Errorf("web%d: entry %s mixed up", w, e.ID)
			}
		}
	}
}
