// Package memo keeps the results of keyed reads for one command: each key
// is read once, callers asking for it at once wait for that one read, and
// a failed read is not kept.
package memo

import (
	"context"
	"sync"
)

// Memo keeps one value per key. The zero value is not usable: use New.
// Safe for concurrent use.
type Memo[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]*entry[V]
}

// entry is one key's read, done or being done: done is closed once v and
// err are set.
type entry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// New returns an empty Memo.
func New[K comparable, V any]() *Memo[K, V] { return &Memo[K, V]{entries: map[K]*entry[V]{}} }

// Get returns the value kept for key, or reads it with read while every
// other caller for key waits. A failed read is forgotten and its error
// returned to the caller that read; a caller that waited for it reads
// again itself (the failure may have been the first caller's context
// ending). A waiting caller whose ctx ends gets ctx.Err().
func (m *Memo[K, V]) Get(ctx context.Context, key K, read func(context.Context) (V, error)) (V, error) {
	for {
		m.mu.Lock()
		e, asked := m.entries[key]
		if !asked {
			e = &entry[V]{done: make(chan struct{})}
			m.entries[key] = e
		}
		m.mu.Unlock()
		if !asked {
			e.v, e.err = read(ctx)
			if e.err != nil {
				m.mu.Lock()
				delete(m.entries, key)
				m.mu.Unlock()
			}
			close(e.done)
			return e.v, e.err
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
		if e.err == nil {
			return e.v, nil
		}
	}
}
