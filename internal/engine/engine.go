// Package engine is the one road from a live workload to its fixes on the
// cluster, for every entry point: `kubectl harden TYPE/NAME`, its terminal
// UI, `kubectl harden audit --fix` and `kubectl harden undo`. It reads the
// workload itself (never trusting a copy read without managedFields),
// evaluates the rules, decides per fix who owns what it changes, plans,
// dry-runs, applies, watches and rolls back. Callers keep their flags and
// their printing.
package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/owners"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Engine holds the clients and where runs are recorded.
type Engine struct {
	Reader  *inspect.Reader
	Applier *apply.Applier
	// Commit is how plans are written: journal, watch, timeout. Its
	// Progress is set per call.
	Commit apply.Commit
	// Policy is the policy file's say on every plan whose selection has
	// none (the terminal UI builds its own); nil for none.
	Policy rules.Policy
	// Access keeps the answers of CheckAccess's access reviews across
	// the workloads of one command (audit --fix); nil asks every time.
	Access *AccessCache
}

// Mode is what a run does with its plan.
type Mode int

const (
	// Preview plans and sends a server-side dry-run; nothing is stored.
	Preview Mode = iota
	// Offline plans without asking the API server (--dry-run=client).
	Offline
	// Apply dry-runs, then writes, watches and rolls back on failure.
	Apply
)

// Request is one run on one workload.
type Request struct {
	// Selection is what to fix; its Force takes fields from their owners
	// (--force-conflicts, or every fix when writing for the source: -o
	// kustomize, -o patch).
	Selection rules.Selection
	Mode      Mode
	// Progress receives rollout status lines; Warn what the user should
	// know that did not stop the run; Replanned is told when the workload
	// changed under the run and is planned again. Each may be nil.
	Progress  func(string)
	Warn      func(string)
	Replanned func(w *inspect.Workload)
	// OfflineIfRefused plans offline, as Offline does, when the API
	// server's authoriser refuses the preview's server-side dry-run as
	// Forbidden (a read-only user: the dry-run is authorised like the
	// write); a quota's or a webhook's 403 stays the error. Only for
	// a Preview that writes nothing; an explicit --dry-run=server keeps
	// the refusal as its error. Result.DryRunRefused then says so.
	OfflineIfRefused bool
	// NoReadAfter leaves Result.Snapshot the state before the fixes:
	// for a caller that shows only the results and reads the scope again
	// itself (audit --fix audits again at its end). It saves a read of
	// the workload and its namespace's kinds per applied workload.
	NoReadAfter bool
}

// Result is what a run did to one workload. It is never nil, even with
// an error: it holds what was known when the run stopped.
type Result struct {
	Workload *inspect.Workload
	// Snapshot is the live state to show: after the fixes when applied.
	Snapshot *inspect.Snapshot
	Results  []rules.Result
	Plan     *plan.Plan
	// Managed names the GitOps controller or Helm release that manages the
	// workload ("" when none).
	Managed string
	// Warnings are the API server's warnings and conflicts seen by a
	// preview.
	Warnings []string
	Applied  bool
	Rollout  string
	// DryRunRefused is the verb and resource the API server refused the
	// preview's dry-run for ("patch deployments"), when the plan was made
	// offline instead (Request.OfflineIfRefused); "" otherwise.
	DryRunRefused string
	// Entry is the undo entry of the commit (nil when no commit began):
	// how far each object's write and rollback got, for a caller that
	// must say what a run stopped by a signal left.
	Entry *apply.Entry
}

// Held returns the findings whose fixes were held back because another
// manager owns their fields.
func (r *Result) Held() []rules.Result {
	var out []rules.Result
	for _, x := range r.Results {
		if x.Status == rules.StatusConflict {
			out = append(out, x)
		}
	}
	return out
}

// maxReplans bounds how often a workload that keeps changing is planned
// again before giving up.
const maxReplans = 3

// Fix runs one workload through the road. w only names the workload: it is
// read again, with its managedFields, before anything is planned.
func (e *Engine) Fix(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload, req Request) (*Result, error) {
	out := &Result{Workload: w}
	var err error
	for attempt := 0; attempt < maxReplans; attempt++ {
		if attempt > 0 && req.Replanned != nil {
			req.Replanned(w)
		}
		if w, err = e.Read(ctx, w); err != nil {
			return out, err
		}
		if out, err = e.once(ctx, cluster, w, req); !errors.Is(err, apply.ErrChanged) {
			return out, err
		}
	}
	return out, err
}

// Read returns the live workload w names, as the API server has it now.
func (e *Engine) Read(ctx context.Context, w *inspect.Workload) (*inspect.Workload, error) {
	live, err := e.Applier.Get(ctx, Ref(w))
	if err != nil {
		return nil, fmt.Errorf("reading %s in namespace %s: %w", w.Ref(), w.Namespace(), err)
	}
	return inspect.NewWorkload(live)
}

// Ref is the plan object naming the workload itself.
func Ref(w *inspect.Workload) *plan.Object {
	return &plan.Object{APIVersion: w.Object.GetAPIVersion(), Kind: w.Kind(), Namespace: w.Namespace(), Name: w.Name()}
}

func (e *Engine) once(ctx context.Context, cluster *inspect.Cluster, w *inspect.Workload, req Request) (*Result, error) {
	out := &Result{Workload: w, Managed: inspect.ManagedBy(w.Object)}
	snap, err := e.Reader.Snapshot(ctx, cluster, w)
	if err != nil {
		return out, err
	}
	out.Snapshot = snap
	if err := e.planChecked(ctx, snap, req, out); err != nil {
		return out, err
	}
	out.Warnings = append(out.Warnings, e.Applier.Warnings.Take()...)
	if req.Mode != Apply || out.Plan.Empty() {
		return out, nil
	}
	if err := e.CheckAccess(ctx, out.Plan); err != nil {
		return out, err
	}
	c := e.Commit
	c.Progress = req.Progress
	res, err := e.Applier.Commit(ctx, out.Plan, w, c)
	out.Entry = res.Entry
	for _, msg := range res.Warnings {
		if req.Warn != nil {
			req.Warn(msg)
		}
	}
	if err != nil {
		return out, err
	}
	out.Applied, out.Rollout = true, res.Rollout
	for i := range out.Results {
		if out.Results[i].Status == rules.StatusPlanned {
			out.Results[i].Status = rules.StatusFixed
		}
	}
	if req.NoReadAfter {
		return out, nil
	}
	// Show the live state the fixes produced, not the one they fixed.
	if w, err = e.Read(ctx, w); err != nil {
		return out, err
	}
	out.Snapshot, err = e.Reader.Snapshot(ctx, cluster, w)
	return out, err
}

// planChecked plans the fixes into out (Results, Plan, DryRunRefused)
// and, unless the request is offline, has the API server check the plan
// with a server-side dry-run. The API server is the judge of ownership: a
// conflict the managed fields did not predict (a manager that wrote since
// the read, a schema harden does not know) holds the fixes it touches
// back, and the plan is made again without them, up to twice.
func (e *Engine) planChecked(ctx context.Context, snap *inspect.Snapshot, req Request, out *Result) error {
	sel := req.Selection
	for round := 0; ; round++ {
		var err error
		if out.Results, out.Plan, err = e.Plan(snap, sel); err != nil {
			return err
		}
		if out.Plan.Empty() || req.Mode == Offline {
			return nil
		}
		conflicts, err := e.Applier.DryRun(ctx, out.Plan)
		// Only the authoriser's refusal is about the user's rights: a
		// quota's or a webhook's 403 would refuse the write too, and is
		// the run's error.
		byAuthorizer := refusedByAuthorizer(err)
		switch {
		case byAuthorizer && req.Mode == Preview && req.OfflineIfRefused:
			// Planned again offline: the dry-run may have filled some
			// objects' After before it was refused. Ownership stays the
			// managedFields' verdict, as with --dry-run=client.
			out.DryRunRefused = RefusedDryRun(err)
			e.Applier.Warnings.Take()
			out.Results, out.Plan, err = e.Plan(snap, sel)
			return err
		case byAuthorizer && req.Mode == Apply:
			// A dry-run is authorised as the write: refused, it is the
			// access check's to say all that is missing, in the user's
			// terms. Reviews that allow, or that fail, explain nothing:
			// the refusal stays.
			var missing *AccessError
			if aerr := e.CheckAccess(ctx, out.Plan); errors.As(aerr, &missing) {
				return aerr
			}
			return err
		case err != nil:
			return err
		case len(conflicts) == 0:
			return nil
		case round == 2:
			return fmt.Errorf("%w; nothing was changed", conflicts[0])
		}
		sel = holdConflicting(sel, out.Results, out.Plan, conflicts)
	}
}

// refusedRequest reads the verb and resource from the API server's
// Forbidden message: `User "u" cannot patch resource "deployments" in API
// group "apps" in the namespace "ns"`.
var refusedRequest = regexp.MustCompile(`cannot (\S+) resource "([^"]+)"`)

// RefusedDryRun returns what a Forbidden error refused, as RBAC names it
// ("patch deployments"; "patch" and the status' resource when the message
// does not say), or "" when err is no Forbidden.
func RefusedDryRun(err error) string {
	if err == nil || !apierrors.IsForbidden(err) {
		return ""
	}
	if m := refusedRequest.FindStringSubmatch(err.Error()); m != nil {
		return m[1] + " " + m[2]
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil && status.Status().Details.Kind != "" {
		return "patch " + status.Status().Details.Kind
	}
	return "patch"
}

// refusedByAuthorizer reports whether err is the authoriser's Forbidden
// (RBAC's or a webhook authoriser's: the API server words both `User "u"
// cannot patch resource …`), not another 403 — ResourceQuota admission's
// "exceeded quota", an admission webhook denying with code 403 — whose
// reason no access review can tell.
func refusedByAuthorizer(err error) bool {
	return apierrors.IsForbidden(err) && refusedRequest.MatchString(err.Error())
}

// holdConflicting holds back, with the API server's own words, every
// planned fix that touches an object the dry-run found in conflict.
func holdConflicting(sel rules.Selection, results []rules.Result, p *plan.Plan, conflicts []*apply.ConflictError) rules.Selection {
	sel.Hold = cloneHold(sel.Hold)
	for _, ce := range conflicts {
		for _, o := range p.Objects {
			if apply.ObjectRef(o) != ce.Object {
				continue
			}
			for _, r := range results {
				if r.Status == rules.StatusPlanned && slices.Contains(o.Rules, r.Rule) {
					sel.Hold[rules.HoldKey(r.Finding)] = rules.Held{Reason: holdReason(ce.Fields, ""), Owners: ce.Fields}
				}
			}
		}
	}
	return sel
}

// Plan evaluates the rules on the snapshot and plans the chosen fixes that
// conflict with nobody, or only with one-off edits (whose fields it takes),
// or that the selection forces. A fix whose fields a manifest applier,
// GitOps controller or autoscaler owns — or any fix to a workload Argo CD,
// Flux or Helm manages — is held back with status conflict, and the rules
// after it are planned as if it were not there. It reads no more than the
// snapshot. Its errors are rules.Evaluate's, plan.LiveObject's,
// owners.Analyze's and plan.Build's, unwrapped.
func (e *Engine) Plan(snap *inspect.Snapshot, sel rules.Selection) ([]rules.Result, *plan.Plan, error) {
	fm := e.Applier.FieldManager
	managed := inspect.ManagedBy(snap.Workload.Object)
	sel.Hold = cloneHold(sel.Hold)
	if sel.Policy == nil {
		sel.Policy = e.Policy
	}
	// Each round holds back at least one more rule, so this ends.
	for {
		results, err := rules.Evaluate(snap, sel)
		if err != nil {
			return nil, nil, err
		}
		own := ownership{snap: snap, sel: sel, fieldManager: fm, managed: managed,
			take: map[string]bool{}, taken: map[string][]owners.Taken{}}
		held, err := own.holdBlocked(results)
		if err != nil {
			return nil, nil, err
		}
		if held {
			continue
		}
		explainWaits(results)
		p, err := plan.Build(snap, results, fm)
		if err != nil {
			return nil, nil, err
		}
		own.mark(p)
		return results, p, nil
	}
}

// ownership is one round of Plan's verdicts on who owns what the planned
// fixes change. take and taken are keyed by objectKey.
type ownership struct {
	snap         *inspect.Snapshot
	sel          rules.Selection // its Hold receives the fixes held back
	fieldManager string
	managed      string // inspect.ManagedBy of the workload; "" for none
	// take are the objects applied with force; taken what each takes
	// from other managers.
	take  map[string]bool
	taken map[string][]owners.Taken
}

// holdBlocked judges every planned result in order and reports whether it
// held one back (written to sel.Hold): then the round is evaluated again.
// It fills each result's Owners. The first error stops it.
func (o *ownership) holdBlocked(results []rules.Result) (bool, error) {
	held := false
	for i := range results {
		r := &results[i]
		if r.Status != rules.StatusPlanned {
			continue
		}
		h, err := o.judge(r)
		if err != nil {
			return false, err
		}
		held = held || h
	}
	return held, nil
}

// judge holds r back, and returns true, when the workload's manager would
// revert it or another manager's fields block it; a forced rule is held
// by neither.
func (o *ownership) judge(r *rules.Result) (bool, error) {
	forced := rules.Forces(o.sel, r.Rule)
	if o.managed != "" && !forced {
		o.sel.Hold[rules.HoldKey(r.Finding)] = rules.Held{Reason: holdReason(nil, o.managed)}
		return true, nil
	}
	blocking, err := o.analyzeChanges(r, forced)
	if err != nil || len(blocking) == 0 {
		return false, err
	}
	o.sel.Hold[rules.HoldKey(r.Finding)] = rules.Held{Reason: holdReason(blocking, ""), Owners: r.Owners}
	return true, nil
}

// analyzeChanges asks owners.Analyze about each change to an existing
// object (a created one has no owner), adds its conflicts to r.Owners and
// returns those that block: neither forced nor of a class harden takes.
// What a change takes is recorded until the first blocking conflict.
func (o *ownership) analyzeChanges(r *rules.Result, forced bool) ([]owners.Conflict, error) {
	var blocking []owners.Conflict
	for _, c := range r.Fix.Changes {
		if c.Create {
			continue
		}
		live, err := plan.LiveObject(o.snap, c.Object)
		if err != nil {
			return nil, err
		}
		cs, ts, err := owners.Analyze(live, c.Object, o.fieldManager)
		if err != nil {
			return nil, err
		}
		r.Owners = append(r.Owners, cs...)
		key := objectKey(c.Object)
		blocking = append(blocking, o.sortConflicts(key, cs, forced)...)
		if len(blocking) == 0 {
			o.taken[key] = append(o.taken[key], ts...)
		}
	}
	return blocking, nil
}

// sortConflicts marks the object at key to be applied with force when a
// conflict is forced or of a class harden takes, and returns the others.
func (o *ownership) sortConflicts(key string, cs []owners.Conflict, forced bool) []owners.Conflict {
	var blocking []owners.Conflict
	for _, x := range cs {
		if forced || x.Class.Takes() {
			o.take[key] = true
		} else {
			blocking = append(blocking, x)
		}
	}
	return blocking
}

// mark sets each planned object's Force and Taken from the round's
// verdicts.
func (o *ownership) mark(p *plan.Plan) {
	for _, obj := range p.Objects {
		key := objectKey(rules.Identity(obj.APIVersion, obj.Kind, obj.Namespace, obj.Name))
		obj.Force, obj.Taken = o.take[key], o.taken[key]
	}
}

// explainWaits adds to a finding left to a human because it needs another
// fix first ("fix replicas first: --fix=replicas,pdb") that this fix is
// held back: asking for it again would end the same way.
func explainWaits(results []rules.Result) {
	held := map[string]bool{}
	for _, r := range results {
		if r.Status == rules.StatusConflict {
			held[r.Rule] = true
		}
	}
	for i := range results {
		r := &results[i]
		if r.Status != rules.StatusNeedsHuman || !strings.Contains(r.Reason, "--fix=") {
			continue
		}
		for id := range held {
			if strings.Contains(r.Reason, id) {
				r.Reason += "; but " + id + " is held back (conflict): --force-conflicts takes its fields"
				break
			}
		}
	}
}

func objectKey(obj map[string]any) string {
	u := unstructured.Unstructured{Object: obj}
	return u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func cloneHold(h map[string]rules.Held) map[string]rules.Held {
	out := make(map[string]rules.Held, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

// holdReason says who owns what, what will happen, and the two ways on.
func holdReason(conflicts []owners.Conflict, managed string) string {
	const ways = "--force-conflicts takes it live, or -o patch|kustomize=DIR changes the source"
	if managed != "" {
		return fmt.Sprintf("managed by %s: its next sync reverts a live change; %s", managed, ways)
	}
	var parts []string
	seen := map[string]bool{}
	for _, c := range conflicts {
		s := fmt.Sprintf("%s is owned by %s", c.Field, c.Manager)
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	what := "its owner may write it back"
	classes := map[owners.Class]bool{}
	for _, c := range conflicts {
		classes[c.Class] = true
	}
	switch {
	case classes[owners.Manifest]:
		what = "its next apply or sync resets it"
	case classes[owners.Autoscaler]:
		what = "the autoscaler keeps writing it"
	}
	return fmt.Sprintf("%s: %s; %s", strings.Join(parts, ", "), what, ways)
}
