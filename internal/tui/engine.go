// Package tui is the interactive terminal UI of kubectl harden: pick the
// fixes of one workload while reading their diff, edit their parameters,
// then dry-run, apply and watch the rollout. It consumes plans and the
// engine's apply code through Engine and never talks to the API server.
package tui

import (
	"context"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Engine is what the TUI asks of the hardening engine. The command line
// implements it with the same inspect, plan and apply code as the
// non-interactive mode.
type Engine interface {
	// Plan evaluates the rules with the selection and plans the chosen
	// fixes. It reads only the snapshot taken before the TUI started.
	Plan(sel rules.Selection) ([]rules.Result, *plan.Plan, error)
	// DryRun sends the plan as a server-side dry-run: fields another
	// manager owns come back as conflicts (unless force takes them, like
	// --force-conflicts), admission warnings as warnings.
	DryRun(ctx context.Context, p *plan.Plan, force bool) (DryRun, error)
	// Commit applies the plan, watches the rollout and rolls back on
	// failure; progress receives each rollout status line.
	Commit(ctx context.Context, p *plan.Plan, force bool, progress func(string)) (*apply.Outcome, error)
	// Pods reads the workload's pods again, for live progress.
	Pods(ctx context.Context) (inspect.PodStats, error)
	// Write saves the plan into the folder dir as a kustomize overlay
	// that builds as written (like -o kustomize=DIR) and returns the
	// folder it wrote.
	Write(p *plan.Plan, dir string) (string, error)
}

// DryRun is what the API server said of a plan without storing it.
type DryRun struct {
	Conflicts []string
	Warnings  []string
}

// Workload is the header: what is being hardened, where, and how it is.
type Workload struct {
	Kind, Name, Namespace, Context string
	Desired                        int32
	Stats                          inspect.PodStats
	// Managed names a GitOps tool or Helm that will revert live changes.
	Managed string
	// Unread are the reads the API server refused (a read-only user),
	// cluster-scoped and of the namespace (Snapshot.AllUnread): the
	// header names them, and shows zones as unknown when nodes are
	// among them.
	Unread []inspect.Unread
	// Policy is the base name of the policy file in use, "" for none:
	// the header names it.
	Policy string
}

// Outcome is how the TUI ended.
type Outcome struct {
	// Aborted is true when ctrl+c ended the view before anything was
	// applied or written: nothing was changed (exit 130).
	Aborted bool
	// Quit is true when q or esc ended the view without applying or
	// writing: nothing was changed; Pending counts what is left.
	Quit bool
	// Applied is set when fixes were applied (and their rollout completed,
	// when watched).
	Applied *apply.Outcome
	// Rules are the rules whose fixes were applied or written.
	Rules []string
	// Written is the folder the plan was saved into with `w`.
	Written string
	// Err is the apply or rollout failure, after any automatic rollback.
	Err error
	// Pending counts the findings the view ends with that the command
	// line counts for its exit code 1: neither fixed nor exempted (not
	// chosen, held back as conflict, needing a human). After an apply,
	// those it did not fix; after a quit or a write, every one (nothing
	// changed on the cluster).
	Pending int
	// Interrupted is set when ctrl+c during the rollout, or SIGINT or
	// SIGTERM, stopped the view; Plan is what was being applied.
	Interrupted bool
	Plan        *plan.Plan
}
