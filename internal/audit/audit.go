// Package audit evaluates every workload and namespace of a scope and
// scores them: 0–100 per workload, namespace and cluster.
package audit

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// APIVersion and Kind identify the machine-readable audit report.
const (
	APIVersion = "harden.kubectl.dev/v1alpha1"
	Kind       = "AuditReport"
)

// Report is the -o json|yaml document of `kubectl harden audit`.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Cluster names the audited cluster (its kubeconfig context) in a
	// fleet audit (several contexts); empty for a single cluster.
	Cluster   string `json:"cluster,omitempty"`
	Score     int    `json:"score"`
	Workloads int    `json:"workloads"`
	Pending   Counts `json:"pending"`
	// Unread are the reads the API server refused, cluster-scoped and of
	// every namespace (each was one LIST of the scope): what the audit
	// could not know.
	Unread []inspect.Unread `json:"unread,omitempty"`
	// Policy is the policy file the audit used; absent without one.
	Policy *policy.Ref `json:"policy,omitempty"`
	// Namespaces stays the last field: WriteAuditJSON streams it.
	Namespaces []Namespace `json:"namespaces"`
}

// Counts are pending findings by severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
}

func (c *Counts) add(sev rules.Severity) {
	switch sev {
	case rules.Critical:
		c.Critical++
	case rules.High:
		c.High++
	case rules.Medium:
		c.Medium++
	default:
		c.Low++
	}
}

// AtLeast counts pending findings of this severity or worse.
func (c Counts) AtLeast(sev rules.Severity) int {
	n := c.Critical
	if sev <= rules.High {
		n += c.High
	}
	if sev <= rules.Medium {
		n += c.Medium
	}
	if sev <= rules.Low {
		n += c.Low
	}
	return n
}

// Namespace is one namespace's score, its own findings and its workloads.
type Namespace struct {
	Name      string         `json:"name"`
	Score     int            `json:"score"`
	Pending   Counts         `json:"pending"`
	Findings  []rules.Result `json:"findings"`
	Workloads []Workload     `json:"workloads"`
	// spilled counts the workloads of a namespace handed to
	// Auditor.Spill, whose entries it no longer holds.
	spilled int
}

// Workload is one workload's score and findings.
type Workload struct {
	Kind     string         `json:"kind"`
	Name     string         `json:"name"`
	Score    int            `json:"score"`
	Pending  Counts         `json:"pending"`
	Findings []rules.Result `json:"findings"`
}

// TopRules names the rules of the worst pending findings, each once (the
// findings are sorted worst first), and "+N" for those beyond n.
func (w Workload) TopRules(n int) []string {
	var ids []string
	for _, r := range w.Findings {
		if r.Pending() && !slices.Contains(ids, r.Rule) {
			ids = append(ids, r.Rule)
		}
	}
	if len(ids) > n {
		ids = append(ids[:n], fmt.Sprintf("+%d", len(ids)-n))
	}
	return ids
}

// Auditor builds a Report part by part (a namespace at a time, for a
// cluster), keeping only the findings.
type Auditor struct {
	sel rules.Selection
	ns  map[string]*Namespace
	// Spill, when set, takes each namespace Add completes (Add is called
	// once per namespace, with all of it), scored and its workloads sorted,
	// and the Auditor keeps only its score and counts: Report's namespaces
	// then have neither workloads nor findings. It keeps a cluster's
	// findings out of memory; an error stops Add.
	Spill func(*Namespace) error
}

// New starts a report of the rules the selection chooses.
func New(sel rules.Selection) *Auditor {
	return &Auditor{sel: sel, ns: map[string]*Namespace{}}
}

// Add evaluates the workload rules on the snapshots (in parallel) and the
// namespace rules on the namespaces (nil ones skipped: a namespace with no
// workload or pod, or gone), and returns the snapshots' entries, in their
// order. The report keeps no planned fix: applying plans again,
// from the live object.
func (a *Auditor) Add(ctx context.Context, snaps []*inspect.Snapshot, namespaces ...*inspect.NamespaceSnapshot) ([]Workload, error) {
	results := make([][]rules.Result, len(snaps))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, s := range snaps {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := rules.Evaluate(s, a.sel)
			for j := range r {
				r[j].Fix = nil
			}
			// Kept to the end: without the room append left.
			results[i] = slices.Clone(r)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]Workload, len(snaps))
	var added []*Namespace
	for i, s := range snaps {
		w := Workload{Kind: s.Workload.Kind(), Name: s.Workload.Name(), Score: rules.Score(results[i]), Findings: results[i]}
		for _, r := range results[i] {
			if r.Pending() {
				w.Pending.add(r.Severity)
			}
		}
		n := a.namespace(s.Workload.Namespace())
		n.Workloads = append(n.Workloads, w)
		out[i] = w
		added = appendOnce(added, n)
	}
	for _, ns := range namespaces {
		if ns == nil {
			continue
		}
		n := a.namespace(ns.Namespace.Name)
		n.Findings = NamespaceFindings(ns, a.sel)
		added = appendOnce(added, n)
	}
	if a.Spill == nil {
		return out, nil
	}
	for _, n := range added {
		n.score()
		if err := a.Spill(n); err != nil {
			return nil, err
		}
		a.ns[n.Name] = &Namespace{Name: n.Name, Score: n.Score, Pending: n.Pending, spilled: len(n.Workloads)}
	}
	return out, nil
}

func appendOnce(list []*Namespace, n *Namespace) []*Namespace {
	if slices.Contains(list, n) {
		return list
	}
	return append(list, n)
}

func (a *Auditor) namespace(name string) *Namespace {
	n, ok := a.ns[name]
	if !ok {
		n = &Namespace{Name: name}
		a.ns[name] = n
	}
	return n
}

// Report scores what was added: each namespace, then the cluster. The
// namespaces are sorted by name, and each one's workloads worst first.
func (a *Auditor) Report() *Report {
	rep := &Report{APIVersion: APIVersion, Kind: Kind}
	total, weighted := 0, 0
	for _, n := range a.ns {
		workloads := n.spilled
		if a.Spill == nil {
			n.score()
			workloads = len(n.Workloads)
		}
		weight := max(workloads, 1)
		total += weight
		weighted += n.Score * weight
		rep.Workloads += workloads
		rep.Pending.Critical += n.Pending.Critical
		rep.Pending.High += n.Pending.High
		rep.Pending.Medium += n.Pending.Medium
		rep.Pending.Low += n.Pending.Low
		rep.Namespaces = append(rep.Namespaces, *n)
	}
	rep.Score = 100
	if total > 0 {
		rep.Score = (weighted + total/2) / total
	}
	sort.Slice(rep.Namespaces, func(i, j int) bool { return rep.Namespaces[i].Name < rep.Namespaces[j].Name })
	return rep
}

// score sets the namespace's pending counts and score from its workloads
// and own findings, and sorts its workloads worst first.
func (n *Namespace) score() {
	n.Pending = Counts{}
	sum := 0
	for _, w := range n.Workloads {
		sum += w.Score
		n.Pending.Critical += w.Pending.Critical
		n.Pending.High += w.Pending.High
		n.Pending.Medium += w.Pending.Medium
		n.Pending.Low += w.Pending.Low
	}
	mean := 100
	if len(n.Workloads) > 0 {
		mean = (sum + len(n.Workloads)/2) / len(n.Workloads)
	}
	for _, f := range n.Findings {
		if f.Pending() {
			n.Pending.add(f.Severity)
		}
	}
	// The namespace's own findings scale its workloads' mean down.
	n.Score = (mean*rules.ScoreOf(rules.Penalty(n.Findings)) + 50) / 100
	sort.SliceStable(n.Workloads, func(i, j int) bool { return n.Workloads[i].Score < n.Workloads[j].Score })
}

// FixableRules lists, once each, the rules of a workload's pending
// findings that `kubectl harden --fix=…` with them all fixes: the
// not-selected ones (never those needing a human whatever is chosen, nor
// those --skip left out), except opt-in findings, which are fixed only
// once someone has read why and named the rule.
func FixableRules(w Workload) []string {
	var ids []string
	for _, f := range w.Findings {
		if f.Status != rules.StatusNotSelected || f.OptIn != "" || slices.Contains(ids, f.Rule) {
			continue
		}
		if r, ok := rules.Get(f.Rule); ok && r.Meta().Fixable {
			ids = append(ids, f.Rule)
		}
	}
	return ids
}

// NamespaceFindings runs the namespace rules; their findings always need a
// human (or are exempted by the namespace's skip annotation, or skipped).
func NamespaceFindings(ns *inspect.NamespaceSnapshot, sel rules.Selection) []rules.Result {
	var out []rules.Result
	skip := ns.Namespace.Annotations[rules.SkipAnnotation]
	for _, r := range rules.NamespaceRules() {
		m := r.Meta()
		if !sel.Active(m.ID) {
			continue
		}
		for _, f := range rules.CheckNamespace(r, ns) {
			f = sel.Graded(f)
			res := rules.Result{Finding: f, Status: rules.StatusNeedsHuman, Reason: f.NeedsHuman}
			why, exempt := policyExempts(sel, ns.Namespace.Name, m)
			switch {
			case m.SelectedByList(skip):
				res.Status, res.Reason = rules.StatusExempted, "namespace annotation "+rules.SkipAnnotation+"="+skip
			case exempt:
				res.Status, res.Reason = rules.StatusExempted, why
			case m.SelectedBy(sel.Skip):
				res.Status, res.Reason = rules.StatusSkipped, rules.SkippedByFlag
			}
			out = append(out, res)
		}
	}
	return out
}

// policyExempts asks the selection's policy file whether an exemption of
// the namespace (by namespace alone) covers the namespace rule.
func policyExempts(sel rules.Selection, ns string, m rules.Meta) (string, bool) {
	if sel.Policy == nil {
		return "", false
	}
	return sel.Policy.Exempts(rules.Target{Namespace: ns}, m)
}
