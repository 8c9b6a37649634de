package engine

import (
	"context"

	"github.com/kubectl-harden/kubectl-harden/internal/memo"
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
	answers *memo.Memo[accessKey, bool]
}

// NewAccessCache returns an empty cache.
func NewAccessCache() *AccessCache {
	return &AccessCache{answers: memo.New[accessKey, bool]()}
}

// accessKey is a Right without its For: what the API server is asked.
type accessKey struct {
	Verb, Group, Resource, Namespace, Name string
}

func keyOf(r Right) accessKey {
	return accessKey{Verb: r.Verb, Group: r.Group, Resource: r.Resource, Namespace: r.Namespace, Name: r.Name}
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
// every other caller for r waits (memo.Memo: a failed review is not kept).
func (c *AccessCache) answer(ctx context.Context, r Right, review func(context.Context, Right) (bool, error)) (bool, error) {
	return c.answers.Get(ctx, keyOf(r), func(ctx context.Context) (bool, error) { return review(ctx, r) })
}
