package apply

import "context"

// warningsKey is the context key of WithWarnings.
type warningsKey struct{}

// WithWarnings returns a context whose requests' warnings (those of a
// client whose rest.Config has a Warnings as WarningHandlerWithContext)
// go to into rather than to that Warnings: requests sent at once, each
// with its own, keep their warnings apart (the dry-runs of several
// namespaces or workloads).
func WithWarnings(ctx context.Context, into *Warnings) context.Context {
	return context.WithValue(ctx, warningsKey{}, into)
}

// HandleWarningHeaderWithContext records one warning in the Warnings of
// the request's context (WithWarnings), else in w.
func (w *Warnings) HandleWarningHeaderWithContext(ctx context.Context, code int, agent string, text string) {
	if into, ok := ctx.Value(warningsKey{}).(*Warnings); ok && into != nil {
		into.HandleWarningHeader(code, agent, text)
		return
	}
	w.HandleWarningHeader(code, agent, text)
}
