package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// ErrInterrupted is the cause of the command's context once SIGINT or
// SIGTERM arrived.
var ErrInterrupted = errors.New("interrupted")

// interrupts turns SIGINT and SIGTERM into the command's cancelled context.
// The first signal cancels it with ErrInterrupted: the run stops at its
// next safe point, rolling back what it wrote as a failed rollout does, and
// the command exits 130 with one line saying what state the objects are
// in. The second stops at once: it prints the exact undo command of the
// workload being written (or that nothing was changed) and exits 130.
type interrupts struct {
	cancel   context.CancelCauseFunc
	errOut   io.Writer
	exit     func(int)
	got      atomic.Int32
	received chan struct{} // closed by the first signal

	mu sync.Mutex
	// current is the workload a run may be writing, and writes the write
	// requests sent since it became current.
	current *inspect.Workload
	writes  int
	// beforeExit runs before a second signal exits (the TUI restores the
	// terminal there).
	beforeExit func()
}

// notifyInterrupts returns a context the first SIGINT or SIGTERM cancels,
// and the function that stops listening.
func notifyInterrupts(parent context.Context, errOut io.Writer) (context.Context, *interrupts, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	in := &interrupts{cancel: cancel, errOut: errOut, exit: os.Exit, received: make(chan struct{})}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sig:
				in.signal()
			case <-done:
				return
			}
		}
	}()
	return withInterrupts(ctx, in), in, func() {
		signal.Stop(sig)
		close(done)
		cancel(nil)
	}
}

// signal handles one SIGINT or SIGTERM.
func (in *interrupts) signal() {
	switch in.got.Add(1) {
	case 1:
		close(in.received)
		in.cancel(ErrInterrupted)
	case 2:
		in.mu.Lock()
		stop := in.beforeExit
		in.mu.Unlock()
		if stop != nil {
			stop()
		}
		fmt.Fprintf(in.errOut, "interrupted again: stopped at once; %s\n", in.leftState())
		in.exit(ExitAborted)
	}
}

// leftState says what a run stopped at once may have left.
func (in *interrupts) leftState() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.current == nil || in.writes == 0 {
		return "nothing was changed"
	}
	ref := workloadRef(in.current)
	return fmt.Sprintf("%s may be left part-way: run kubectl harden undo %s", ref, ref)
}

// interrupted reports whether a signal arrived.
func (in *interrupts) interrupted() bool { return in != nil && in.got.Load() > 0 }

// writing makes w the workload the run may write, until done is called.
func (in *interrupts) writing(w *inspect.Workload) (done func()) {
	if in == nil {
		return func() {}
	}
	in.mu.Lock()
	in.current, in.writes = w, 0
	in.mu.Unlock()
	return func() {
		in.mu.Lock()
		in.current, in.writes = nil, 0
		in.mu.Unlock()
	}
}

// wrote reports whether a write request was sent since the current
// workload was set.
func (in *interrupts) wrote() bool {
	if in == nil {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.writes > 0
}

// setBeforeExit sets what a second signal runs before exiting.
func (in *interrupts) setBeforeExit(f func()) {
	if in == nil {
		return
	}
	in.mu.Lock()
	in.beforeExit = f
	in.mu.Unlock()
}

type interruptsKey struct{}

func withInterrupts(ctx context.Context, in *interrupts) context.Context {
	return context.WithValue(ctx, interruptsKey{}, in)
}

// interruptsOf is the command's signal state; nil outside Execute.
func interruptsOf(ctx context.Context) *interrupts {
	if ctx == nil {
		return nil
	}
	in, _ := ctx.Value(interruptsKey{}).(*interrupts)
	return in
}

// InterruptedError ends a run a signal stopped: State says what the
// objects are left as.
type InterruptedError struct{ State string }

func (e *InterruptedError) Error() string { return "interrupted: " + e.State }

// workloadRef is how the undo command names a workload: deployment/web -n shop.
// (The TUI's workload has its own fields.)
func workloadRef(w *inspect.Workload) string {
	return termsafe.String(w.Ref()) + " -n " + termsafe.String(w.Namespace())
}

// interruptedState says, as one line, what a run on w that a signal
// stopped left: nothing changed, rolled back (and which companions were
// deleted), hardened, or part-way with the exact undo command.
func interruptedState(ref string, p *plan.Plan, applied, wrote bool, err error) string {
	var rolled *apply.RolledBackError
	var tx *apply.TxError
	switch {
	case applied:
		return fmt.Sprintf("%s is hardened (the rollout had completed); kubectl harden undo %s restores it", ref, ref)
	case errors.As(err, &rolled):
		msg := fmt.Sprintf("%s rolled back, as it was before", ref)
		if len(rolled.Pending) > 0 || len(rolled.Except) > 0 {
			// Not as before: a field someone else changed, or pods not back.
			msg = fmt.Sprintf("%s rolled back: %s", ref, termsafe.String(rolled.State()))
		}
		if deleted := companions(p); deleted != "" {
			msg += "; " + deleted + " deleted"
		}
		return msg
	case errors.As(err, &tx) && tx.UndoErr == nil:
		return "nothing was changed"
	case !wrote:
		return "nothing was changed"
	}
	return fmt.Sprintf("%s may be left part-way; run kubectl harden undo %s once the cluster answers", ref, ref)
}

// companions names the objects a plan creates: poddisruptionbudget.policy/web, ….
func companions(p *plan.Plan) string {
	if p == nil {
		return ""
	}
	var out []string
	for _, o := range p.Objects {
		if o.Create {
			out = append(out, termsafe.String(o.Ref()))
		}
	}
	return strings.Join(out, ", ")
}

// countWrites is a transport that counts, for the interrupts, every write
// request sent (a dry-run is no write).
//
// The hidden test hook KUBECTL_HARDEN_TEST_PAUSE (for the e2e fault suite
// only, undocumented for users) pauses the run at a phase so a test can
// signal it there: "dry-run" after the first dry-run answered, "write"
// after the first write answered, until a signal arrives; "write2" also
// after the second write, until a second signal. Each pause prints
// "harden-test: paused after write N" (or "dry-run N") on stderr and lasts
// at most a minute. "before-writeN" and "after-writeN" pause once, before
// write N is sent or after it answered, and resume on SIGUSR1 rather than
// on an interrupt: the run goes on as if nothing happened (a test stops
// the API server in the meantime).
type countWrites struct {
	next  http.RoundTripper
	in    *interrupts
	pause string
	mu    sync.Mutex
	n     int // requests of the paused kind answered
	// hold is the SIGUSR1 pause, one for every client of the command.
	held *heldPause
}

// heldPause is the SIGUSR1 pause: at and before are its write number and
// side; resume receives SIGUSR1; sent counts the writes sent.
type heldPause struct {
	at     int
	before bool
	resume chan os.Signal
	mu     sync.Mutex
	sent   int
}

var (
	heldOnce sync.Once
	held     *heldPause
)

// heldPauseOf reads the SIGUSR1 pause from KUBECTL_HARDEN_TEST_PAUSE once:
// nil unless it is before-writeN or after-writeN.
func heldPauseOf(pause string) *heldPause {
	heldOnce.Do(func() {
		if !strings.HasPrefix(pause, "before-write") && !strings.HasPrefix(pause, "after-write") {
			return
		}
		n, err := strconv.Atoi(pause[strings.Index(pause, "write")+len("write"):])
		if err != nil || n < 1 {
			return
		}
		held = &heldPause{at: n, before: strings.HasPrefix(pause, "before-"), resume: make(chan os.Signal, 1)}
		if len(resumeSignals) > 0 { // Notify with none would relay every signal
			signal.Notify(held.resume, resumeSignals...)
		}
	})
	return held
}

// hold prints where the run is paused and waits for SIGUSR1, at most a
// minute.
func (h *heldPause) hold(errOut io.Writer, where string) {
	fmt.Fprintf(errOut, "harden-test: paused %s write %d\n", where, h.at)
	select {
	case <-h.resume:
	case <-time.After(time.Minute):
	}
}

func (c *countWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	// An access review is a POST that changes nothing.
	write := req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions &&
		!strings.HasSuffix(req.URL.Path, "reviews")
	dryRun := write && req.URL.Query().Get("dryRun") != ""
	if write && !dryRun && c.in != nil {
		c.in.mu.Lock()
		c.in.writes++
		c.in.mu.Unlock()
	}
	sent := 0
	if h := c.held; h != nil && write && !dryRun {
		h.mu.Lock()
		h.sent++
		sent = h.sent
		h.mu.Unlock()
		if sent == h.at && h.before {
			h.hold(c.in.errOut, "before")
		}
	}
	resp, err := c.next.RoundTrip(req)
	if h := c.held; h != nil && sent == h.at && !h.before {
		h.hold(c.in.errOut, "after")
	}
	if write && c.pause != "" && (c.pause == "dry-run") == dryRun {
		c.mu.Lock()
		c.n++
		n := c.n
		c.mu.Unlock()
		kind, last := "write", 1
		switch c.pause {
		case "dry-run":
			kind = "dry-run"
		case "write2":
			last = 2
		}
		if n <= last {
			fmt.Fprintf(c.in.errOut, "harden-test: paused after %s %d\n", kind, n)
			for deadline := time.Now().Add(time.Minute); int(c.in.got.Load()) < n && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	return resp, err
}

// wrapTransport installs countWrites on a REST config's transport.
func (in *interrupts) wrapTransport(rt http.RoundTripper) http.RoundTripper {
	if in == nil {
		return rt
	}
	pause := os.Getenv("KUBECTL_HARDEN_TEST_PAUSE")
	if pause != "dry-run" && pause != "write" && pause != "write2" {
		return &countWrites{next: rt, in: in, held: heldPauseOf(pause)}
	}
	return &countWrites{next: rt, in: in, pause: pause}
}

// tuiRef is workloadRef for the TUI's description of a workload.
func tuiRef(kind, name, namespace string) string {
	return termsafe.String(strings.ToLower(kind)+"/"+name) + " -n " + termsafe.String(namespace)
}

// killOnSecond makes a second signal end the TUI at once, restoring the
// terminal, before the undo command is printed; the returned function
// stops that once the TUI has ended.
func (in *interrupts) killOnSecond() (kill <-chan struct{}, ended func()) {
	k := make(chan struct{})
	gone := make(chan struct{})
	in.setBeforeExit(func() {
		close(k)
		select {
		case <-gone:
		case <-time.After(2 * time.Second):
		}
	})
	return k, func() {
		close(gone)
		in.setBeforeExit(nil)
	}
}
