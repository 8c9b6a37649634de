package engine

import (
	"context"
	"sync"
)

// AccessCache keeps the API server's answers to the access reviews of one
// command that fixes many workloads (audit --fix), so that a right is
// asked once per namespace rather than once per workload: a run of 200
// workloads over 4 namespaces asks for "list pods" 4 times, not 200.
//
// A right on one object (Right.Name set) is first asked for every name
// (Name ""), which the SelfSubjectAccessReview API defines as "all": when
// that is allowed, every object of the namespace is, and the named review
// is not sent. When it is not (RBAC rules with resourceNames), the named
// right is asked and kept too.
//
// Answers are kept for the cache's life, one command: a right revoked
// meanwhile is met by the writes themselves, as with no cache, and a
// rollback that the API server then refuses says so and names kubectl
// harden undo. A review that fails (the API server unreachable) is not
// kept. Safe for concurrent use: callers asking for the same right at
// once wait for one review.
type AccessCache struct {
	mu      sync.Mutex
	answers map[accessKey]*accessAnswer
}

// NewAccessCache returns an empty cache.
func NewAccessCache() *AccessCache {
	return &AccessCache{answers: map[accessKey]*accessAnswer{}}
}

// accessKey is a Right without its For: what the API server is asked.
type accessKey struct {
	Verb, Group, Resource, Namespace, Name string
}

func keyOf(r Right) accessKey {
	return accessKey{Verb: r.Verb, Group: r.Group, Resource: r.Resource, Namespace: r.Namespace, Name: r.Name}
}

// accessAnswer is one review, asked or being asked: done is closed once
// allowed and err are set.
type accessAnswer struct {
	done    chan struct{}
	allowed bool
	err     error
}

// allowed answers r: for a named right, the answer for all names when
// that is an allow, else the named right's own answer.
func (c *AccessCache) allowed(ctx context.Context, r Right, review func(context.Context, Right) (bool, error)) (bool, error) {
	if r.Name != "" {
		all := r
		all.Name = ""
		if ok, err := c.answer(ctx, all, review); err != nil || ok {
			return ok, err
		}
	}
	return c.answer(ctx, r, review)
}

// answer returns the kept answer for r, or asks review once for it while
// every other caller for r waits. A failed review is forgotten and
// returned to the caller that asked; a caller that waited for it asks
// again itself (the failure may be the asker's own context ending).
func (c *AccessCache) answer(ctx context.Context, r Right, review func(context.Context, Right) (bool, error)) (bool, error) {
	key := keyOf(r)
	for {
		c.mu.Lock()
		a, asked := c.answers[key]
		if !asked {
			a = &accessAnswer{done: make(chan struct{})}
			c.answers[key] = a
		}
		c.mu.Unlock()
		if !asked {
			return c.ask(ctx, key, a, r, review)
		}
		select {
		case <-a.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if a.err == nil {
			return a.allowed, nil
		}
	}
}

// ask sends the review of r for the answer a, kept under key unless it
// failed.
func (c *AccessCache) ask(ctx context.Context, key accessKey, a *accessAnswer, r Right, review func(context.Context, Right) (bool, error)) (bool, error) {
	a.allowed, a.err = review(ctx, r)
	if a.err != nil {
		c.mu.Lock()
		delete(c.answers, key)
		c.mu.Unlock()
	}
	close(a.done)
	return a.allowed, a.err
}
