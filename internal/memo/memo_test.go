package memo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// Callers of one key at once wait for one read and get its value; other
// keys are read on their own.
func TestGetReadsOnce(t *testing.T) {
	m := New[string, *int]()
	var reads atomic.Int32
	read := func(context.Context) (*int, error) {
		n := int(reads.Add(1))
		return &n, nil
	}
	var wg sync.WaitGroup
	got := make([]*int, 8)
	for i := range got {
		wg.Go(func() {
			v, err := m.Get(context.Background(), "shop", read)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads of one key, want 1", n)
	}
	for _, v := range got {
		if v != got[0] {
			t.Fatal("callers of one key got different values")
		}
	}
	if v, _ := m.Get(context.Background(), "blog", read); v == got[0] || reads.Load() != 2 {
		t.Error("another key was not read on its own")
	}
}

// A failed read is not kept: the next caller reads again, and a value read
// after the failure is kept.
func TestGetForgetsFailures(t *testing.T) {
	m := New[string, int]()
	var reads atomic.Int32
	fail := true
	read := func(context.Context) (int, error) {
		reads.Add(1)
		if fail {
			return 0, errors.New("unreachable")
		}
		return 7, nil
	}
	for range 2 {
		if _, err := m.Get(context.Background(), "shop", read); err == nil {
			t.Error("no error from a failed read")
		}
	}
	fail = false
	for range 2 {
		if v, err := m.Get(context.Background(), "shop", read); err != nil || v != 7 {
			t.Errorf("got %d, %v; want 7", v, err)
		}
	}
	if n := reads.Load(); n != 3 {
		t.Errorf("%d reads, want 3 (two failed, then one kept)", n)
	}
}

// A caller waiting for another's read stops when its own context ends.
func TestGetWaiterContext(t *testing.T) {
	m := New[string, int]()
	started, release := make(chan struct{}), make(chan struct{})
	go m.Get(context.Background(), "shop", func(context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Get(ctx, "shop", func(context.Context) (int, error) { return 2, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose context ended got %v, want context.Canceled", err)
	}
	close(release)
}
