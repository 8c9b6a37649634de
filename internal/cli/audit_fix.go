package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// fixRun is one audit --fix: the engine's request shared by every
// workload, and the tallies its outcome lines add to.
type fixRun struct {
	o       *AuditOptions
	cluster *inspect.Cluster
	eng     *engine.Engine
	req     engine.Request
	bar     *report.Progress
	refused refusedOnce
	counts  map[outcome]int
	held    int           // fixes left to their owners (conflict)
	allowed map[int]int32 // by workload: the least disruptionsAllowed of the budgets covering it
	used    []fixedOn     // for --set's unused parameters
}

// fix audits the scope, fixes every workload that has something of the
// selection to fix on the fixer's safe path — one by one, or --parallel
// at once when applying (fixParallel) — and audits again.
func (o *AuditOptions) fix(ctx context.Context, cluster *inspect.Cluster, scope inspect.Scope) error {
	// The audit already planned every workload offline: only those with a
	// planned fix are read again and go through the fixer.
	before, todo, err := o.audit(ctx, cluster, scope, o.selection)
	if err != nil {
		return err
	}
	applying := o.Yes && o.DryRun == "none"
	bar := newProgress(o.ErrOut, len(todo), o.styles)
	eng := o.engine(o.Watch, o.Timeout)
	eng.Policy = o.selection.Policy
	// Each right is asked once per namespace, not once per workload.
	eng.Access = engine.NewAccessCache()
	if !applying {
		// A preview writes nothing: the workloads of a namespace share
		// its reads.
		eng.Reader = eng.Reader.Sharing()
	}
	run := &fixRun{o: o, cluster: cluster, eng: eng, bar: bar, counts: map[outcome]int{}}
	run.req = engine.Request{Selection: o.selection, Mode: runMode(o.DryRun, o.Yes), Progress: bar.Status,
		OfflineIfRefused: offlineIfRefused(o.DryRun, o.Yes), NoReadAfter: true,
		Warn: func(msg string) { bar.Println("warning: " + msg) },
		Replanned: func(w *inspect.Workload) {
			bar.Println(fmt.Sprintf("%s changed while being hardened; planning again", w.Ref()))
		}}
	fixing := map[string]bool{}
	for _, w := range todo {
		fixing[workloadKey(w.Kind(), w.Namespace(), w.Name())] = true
	}
	// A preview writes nothing and waits for no rollout: it stays
	// sequential, so that the API server's warnings of each dry-run,
	// gathered by the session's one warning handler, stay with their
	// workload.
	if applying && run.parallelism() > 1 && len(todo) > 1 {
		err = run.parallel(ctx, todo)
	} else {
		err = run.sequential(ctx, todo)
	}
	if err != nil {
		return err
	}
	bar.Done()
	counts := run.counts
	// The workloads with nothing of the selection to fix get their line
	// too, with why a chosen rule needs a human there.
	for _, n := range before.Namespaces {
		for _, w := range n.Workloads {
			if fixing[workloadKey(w.Kind, n.Name, w.Name)] {
				continue
			}
			ref := strings.ToLower(w.Kind) + "/" + w.Name + " -n " + n.Name
			counts[outcomeUnchanged]++
			fmt.Fprintf(o.Out, "%-12s %s: nothing to change\n", outcomeUnchanged, termsafe.String(ref))
			o.printFixNotes(w.Findings)
			run.used = append(run.used, fixedOn{Ref: ref, Results: w.Findings})
		}
	}
	printUnusedSets(o.ErrOut, o.Set, run.used)
	after := before
	if applying && counts[outcomeFixed]+counts[outcomeRolledBack] > 0 {
		if after, _, err = o.audit(ctx, cluster, scope, o.selection); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "\n%s fixed %d, rolled back %d, failed %d, unchanged %d", o.styles.Title("summary:"),
		counts[outcomeFixed], counts[outcomeRolledBack], counts[outcomeFailed], counts[outcomeUnchanged])
	if run.held > 0 {
		fmt.Fprintf(o.Out, ", %s left to their owners (conflict: --force-conflicts takes them live, or kubectl harden W --fix=… -o kustomize=DIR changes the source)", report.Count(run.held, "fix", "fixes"))
	}
	if n := counts[outcomePlanned]; n > 0 {
		fmt.Fprintf(o.Out, ", %d would change (%s)", n, applyHint(o.DryRun, o.Yes))
	}
	if n := pendingOf(after, o.Fix); n > 0 {
		fmt.Fprintf(o.Out, "; %s of --fix=%s still pending (kubectl harden audit says why)", report.Count(n, "finding", "findings"), strings.Join(o.Fix, ","))
	}
	fmt.Fprintf(o.Out, "\nscore %d → %d over %s\n", before.Score, after.Score, report.Count(after.Workloads, "workload", "workloads"))
	for _, n := range after.Namespaces {
		was := n.Score
		for _, b := range before.Namespaces {
			if b.Name == n.Name {
				was = b.Score
			}
		}
		fmt.Fprintf(o.Out, "  namespace %s: %d → %d\n", termsafe.String(n.Name), was, n.Score)
	}
	switch {
	case counts[outcomeFailed]+counts[outcomeRolledBack] > 0:
		return ExitCodeError(ExitError)
	case pendingOf(after, o.Fix) > 0:
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// parallelism is --parallel, 0 meaning engine.DefaultParallel.
func (r *fixRun) parallelism() int { return r.o.parallel() }

func (o *AuditOptions) parallel() int {
	if o.Parallel == 0 {
		return engine.DefaultParallel
	}
	return o.Parallel
}

// fixRuns is how many workloads this audit may fix at once: --parallel
// with --fix --yes, 1 otherwise (previews and plain audits).
func (o *AuditOptions) fixRuns() int {
	if len(o.Fix) == 0 || !o.Yes {
		return 1
	}
	return o.parallel()
}

// validateParallel checks --parallel: 1 to engine.MaxParallel, or 0 for
// the default.
func (o *AuditOptions) validateParallel() error {
	if o.Parallel < 0 || o.Parallel > engine.MaxParallel {
		return fmt.Errorf("--parallel must be from 1 to %d (or 0 for the default, %d)", engine.MaxParallel, engine.DefaultParallel)
	}
	return nil
}

// sequential fixes the workloads one after another (--parallel 1, and
// every preview). A signal stops it after the workload being fixed, which
// is rolled back (or had completed); the rest are not touched.
func (r *fixRun) sequential(ctx context.Context, todo []*inspect.Workload) error {
	for i, w := range todo {
		ref := w.Ref() + " -n " + w.Namespace()
		r.bar.Step(i, ref)
		in := interruptsOf(ctx)
		done := in.writing(w)
		res, err := r.eng.Fix(ctx, r.cluster, w, r.req)
		wrote := in.wrote()
		done()
		if in.interrupted() {
			r.bar.Clear()
			return &InterruptedError{State: interruptedState(workloadRef(w), res.Plan, res.Applied, wrote, err)}
		}
		r.bar.Clear()
		r.print(w, res, err)
	}
	return nil
}

// print writes one workload's outcome line (and its diff with -o diff,
// its conflicts, fix notes and warnings) and counts it.
func (r *fixRun) print(w *inspect.Workload, res *engine.Result, err error) {
	o := r.o
	ref := w.Ref() + " -n " + w.Namespace()
	if msg := r.refused.line(res.DryRunRefused); msg != "" {
		r.bar.Println(msg)
	}
	got, line := outcomeOf(res, err)
	if err == nil {
		r.used = append(r.used, fixedOn{Ref: ref, Results: res.Results})
	}
	var warnings []string
	if got == outcomePlanned {
		warnings = res.Warnings
	}
	held := res.Held()
	r.counts[got]++
	if o.Output == "diff" && res.Plan != nil && !res.Plan.Empty() && got != outcomeFailed {
		fmt.Fprint(o.Out, report.DiffHeader(w.Kind(), w.Namespace(), w.Name(), res.Results))
		fmt.Fprint(o.Out, report.RenderDiff(res.Plan.Diff(), o.styles))
	}
	fmt.Fprintf(o.Out, "%-12s %s: %s\n", got, termsafe.String(ref), termsafe.String(line))
	if err == nil {
		r.held += len(held)
		for _, h := range held {
			fmt.Fprintf(o.Out, "             conflict: %s — %s\n", h.Rule, termsafe.String(h.Reason))
		}
		o.printFixNotes(res.Results)
	}
	for _, wn := range warnings {
		fmt.Fprintf(o.Out, "             warning: %s\n", termsafe.String(wn))
	}
}

// fixed is one workload's run in a parallel fix.
type fixed struct {
	res *engine.Result
	err error
	// stopped: the run returned after a signal, so it is told in the
	// interrupted state rather than by an outcome line.
	stopped bool
}

// parallel fixes up to --parallel workloads at once under the
// Scheduler's rules (one run per workload; in each namespace, no more
// runs of workloads under a PodDisruptionBudget than the budgets allow
// disruptions). The outcome lines are printed in the order of the
// sequential run: a line waits for the lines before it, so the output
// is the sequential run's whatever finishes first. Each run keeps its own
// rollback: a failed rollout rolls back that workload only. A signal stops
// new runs; the running ones roll back as in the sequential run, the
// lines of those that ended before it are printed, and the interrupted
// state names every run the signal caught and how many never started.
func (r *fixRun) parallel(ctx context.Context, todo []*inspect.Workload) error {
	slots := r.slots(ctx, todo)
	bar := &parProgress{p: r.bar, tty: isTerminal(r.o.ErrOut), inFlight: map[int]string{}}
	in := interruptsOf(ctx)
	if in != nil {
		in.setBeforeExit(func() { bar.stoppedAtOnce(in) })
		defer in.setBeforeExit(nil)
	}
	runs := make([]fixed, len(todo)) // written by each run's goroutine
	ended := make([]bool, len(todo)) // by the Scheduler's, as each returns
	next := 0                        // the first workload whose line is not printed yet
	printReady := func() {
		for ; next < len(todo) && ended[next]; next++ {
			if !runs[next].stopped {
				bar.print(func() { r.print(todo[next], runs[next].res, runs[next].err) })
			}
		}
	}
	work := func(ctx context.Context, i int) {
		w := todo[i]
		ref := w.Ref() + " -n " + w.Namespace()
		req := r.req
		req.Progress = func(msg string) { bar.status(ref, msg) }
		req.Warn = func(msg string) { bar.println("warning: " + ref + ": " + msg) }
		req.Replanned = func(w *inspect.Workload) { bar.println(ref + " changed while being hardened; planning again") }
		res, err := r.eng.Fix(ctx, r.cluster, w, req)
		runs[i] = fixed{res: res, err: err, stopped: in.interrupted()}
	}
	finished := func(i int) {
		ended[i] = true
		bar.finish(i)
		printReady()
	}
	started := func(i int) { bar.start(i, todo[i].Ref()+" -n "+todo[i].Namespace()) }
	caps := engine.DisruptionCaps(slots, r.allowed)
	for _, ns := range slices.Sorted(maps.Keys(caps)) {
		if caps[ns] < r.parallelism() {
			bar.println(fmt.Sprintf("namespace %s: the workloads its PodDisruptionBudgets cover are fixed while their rollouts take at most %s down at once (the least disruptionsAllowed among them)", ns, report.Count(caps[ns], "pod", "pods")))
		}
	}
	sched := engine.Scheduler{Parallel: r.parallelism(), Caps: caps, Started: started}
	notStarted := sched.Run(ctx, slots, work, finished)
	if !in.interrupted() {
		return nil
	}
	// The lines of runs that ended before the signal, held back behind a
	// run it caught or one never started.
	var states []string
	for i := range todo {
		switch {
		case i >= next && ended[i] && !runs[i].stopped:
			bar.print(func() { r.print(todo[i], runs[i].res, runs[i].err) })
		case runs[i].stopped:
			ref := workloadRef(todo[i])
			st := interruptedState(ref, runs[i].res.Plan, runs[i].res.Applied, wroteAny(runs[i].res, runs[i].err), runs[i].err)
			if !strings.Contains(st, ref) { // "nothing was changed": whose, among several
				st = ref + ": " + st
			}
			states = append(states, st)
		}
	}
	if len(notStarted) > 0 {
		states = append(states, fmt.Sprintf("%s not started", report.Count(len(notStarted), "workload", "workloads")))
	}
	if len(states) == 0 {
		return nil // every run had ended: on as the sequential run goes
	}
	r.bar.Clear()
	return &InterruptedError{State: strings.Join(states, "; ")}
}

// wroteAny reports whether a run may have written something, from its
// undo entry: nothing when no commit began (an error before it, or a
// commit stopped before its first write: every object still pending);
// something when an object got further, or when the write transaction
// failed (an unanswered write leaves its object pending).
func wroteAny(res *engine.Result, err error) bool {
	if res == nil || res.Entry == nil {
		return false
	}
	if slices.ContainsFunc(res.Entry.Objects, func(c apply.Change) bool { return c.State != apply.StatePending && c.State != "" }) {
		return true
	}
	var tx *apply.TxError
	return errors.As(err, &tx)
}

// slots describes the workloads for the Scheduler, reading each
// namespace's PodDisruptionBudgets once. A namespace whose budgets cannot
// be read has all its workloads taken as covered by a budget that allows
// no disruption (one at a time there), and a warning says so.
func (r *fixRun) slots(ctx context.Context, todo []*inspect.Workload) []engine.Slot {
	budgets := map[string][]policyv1.PodDisruptionBudget{}
	unread := map[string]bool{}
	for _, w := range todo {
		ns := w.Namespace()
		if _, ok := budgets[ns]; ok || unread[ns] {
			continue
		}
		list, err := r.o.reader.Client.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			unread[ns] = true
			r.bar.Println(fmt.Sprintf("warning: the PodDisruptionBudgets of namespace %s could not be read (%s): its workloads are fixed one at a time", ns, Explain(err)))
			continue
		}
		budgets[ns] = list.Items
	}
	slots := make([]engine.Slot, len(todo))
	r.allowed = map[int]int32{}
	for i, w := range todo {
		ns := w.Namespace()
		// Keyed by namespace and name stem, whatever the kind: the
		// companions a fix creates (PodDisruptionBudget, NetworkPolicy) are
		// named after the workload, so a Deployment and a StatefulSet both
		// called web, or a StatefulSet web whose budget must be web-pdb
		// beside a Deployment web-pdb, would plan the same budget at once.
		slots[i] = engine.Slot{Key: ns + "/" + rules.NameStem(w.Name()), Namespace: ns, Covered: unread[ns], Weight: engine.Disruption(w)}
		if t := w.PodTemplate(); t != nil && !unread[ns] {
			slots[i].Covered, r.allowed[i] = engine.Covers(budgets[ns], t.Labels)
		}
	}
	return slots
}

// parProgress is the progress bar of a parallel fix, safe for the runs'
// goroutines: on a terminal the bar counts the workloads done and names
// those running; otherwise each run's start is a "[N/TOTAL] REF" line, N
// its place in the sequential order, and each rollout status line is
// prefixed with its workload.
type parProgress struct {
	mu       sync.Mutex
	p        *report.Progress
	tty      bool
	done     int
	inFlight map[int]string // running workloads, by their place in the order
}

// start is workload i (ref) starting.
func (b *parProgress) start(i int, ref string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight[i] = ref
	if !b.tty {
		b.p.Step(i, ref)
		return
	}
	b.redraw()
}

// status is a rollout status line of ref.
func (b *parProgress) status(ref, msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tty {
		b.p.Status(ref + ": " + msg)
		return
	}
	b.p.Step(b.done, ref+": "+strings.TrimRight(msg, "\n"))
}

// println writes a line above the bar.
func (b *parProgress) println(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.p.Println(msg)
}

// finish is workload i done.
func (b *parProgress) finish(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inFlight, i)
	b.done++
	if b.tty {
		b.redraw()
	}
}

// print runs f, which writes outcome lines, with the bar cleared.
func (b *parProgress) print(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.p.Clear()
	f()
	if b.tty && len(b.inFlight) > 0 {
		b.redraw()
	}
}

// redraw draws the bar: the workloads done, and those running.
func (b *parProgress) redraw() {
	b.p.Step(b.done, fmt.Sprintf("%d running: %s", len(b.inFlight), strings.Join(b.running(), ", ")))
}

// running are the refs of the running workloads, in the sequential order.
func (b *parProgress) running() []string {
	keys := make([]int, 0, len(b.inFlight))
	for i := range b.inFlight {
		keys = append(keys, i)
	}
	slices.Sort(keys)
	refs := make([]string, len(keys))
	for j, i := range keys {
		refs[j] = b.inFlight[i]
	}
	return refs
}

// stoppedAtOnce is a second signal during a parallel fix: when a write
// was sent, every running workload may be left part-way, and each one's
// undo command is printed before exiting. With no write sent, the
// default line ("nothing was changed") is right and is left to say it.
func (b *parProgress) stoppedAtOnce(in *interrupts) {
	in.mu.Lock()
	writes := in.writes
	in.mu.Unlock()
	b.mu.Lock()
	refs := b.running()
	b.p.Clear()
	b.mu.Unlock()
	if writes == 0 || len(refs) == 0 {
		return
	}
	var left []string
	for _, ref := range refs {
		left = append(left, fmt.Sprintf("%s may be left part-way: run kubectl harden undo %s", termsafe.String(ref), termsafe.String(ref)))
	}
	fmt.Fprintf(in.errOut, "interrupted again: stopped at once; %s\n", strings.Join(left, "; "))
	in.exit(ExitAborted)
}
