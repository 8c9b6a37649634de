package rules

import "github.com/kubectl-harden/kubectl-harden/internal/inspect"

// Check runs the rule on the snapshot and completes its findings from its
// Meta (see Meta.Complete). Evaluate, the audit and rulestest call rules
// through it, so a rule's Check need not repeat what its Meta says.
func Check(r Rule, s *inspect.Snapshot) []Finding {
	return r.Meta().Complete(r.Check(s))
}

// CheckNamespace is Check for a namespace rule.
func CheckNamespace(r NamespaceRule, ns *inspect.NamespaceSnapshot) []Finding {
	return r.Meta().Complete(r.Check(ns))
}

// Complete fills in, on each finding (in place), what the rule's Meta
// already says and the finding left unset: Rule (Meta.ID), Severity
// (Meta.Severity; the zero Severity is invalid, so 0 means unset) and
// Category (Meta.Category). A finding that sets one keeps its own, e.g.
// a hostPath of the runtime socket raised to critical. It returns the
// same slice.
func (m Meta) Complete(findings []Finding) []Finding {
	for i := range findings {
		f := &findings[i]
		if f.Rule == "" {
			f.Rule = m.ID
		}
		if f.Severity == 0 {
			f.Severity = m.Severity
		}
		if f.Category == "" {
			f.Category = m.Category
		}
	}
	return findings
}
