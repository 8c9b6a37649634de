package apply

import (
	"context"
	"strings"
	"testing"
	"time"

	k8stesting "k8s.io/client-go/testing"
)

// gets counts the GETs of one object of resource sent since the first
// action numbered from.
func gets(f *fakeAPI, from int, resource string) int {
	n := 0
	for _, a := range f.Actions()[from:] {
		if g, ok := a.(k8stesting.GetAction); ok && a.GetVerb() == "get" && a.GetResource().Resource == resource && g.GetName() != "" {
			n++
		}
	}
	return n
}

// Commit judges whether the workload rolls out by itself (paused,
// OnDelete) from the write's answer: the workload is not read again
// between the apply and the rollout watch.
func TestCommitReadsNoWorkloadAfterItsWrite(t *testing.T) {
	for _, paused := range []bool{false, true} {
		d := web()
		d.Spec.Paused = paused
		f := newFakeAPI(t, d)
		a := f.applier()
		p, w := probeAndPDB(t, f)
		from := len(f.Actions())
		out, err := a.Commit(context.Background(), p, w, Commit{Journal: Journal{Dir: t.TempDir()}, Cluster: "test", Timeout: time.Minute})
		if err != nil {
			t.Fatalf("paused %v: %v", paused, err)
		}
		if n := gets(f, from, "deployments"); n != 0 {
			t.Errorf("paused %v: the Deployment read %d times after its write, want 0", paused, n)
		}
		if n := writes(f); n != 2 {
			t.Errorf("paused %v: %d writes, want 2 (the Deployment, the budget)", paused, n)
		}
		if got := strings.HasPrefix(out.Rollout, "paused — not watched"); got != paused {
			t.Errorf("paused %v: rollout %q", paused, out.Rollout)
		}
	}
}
