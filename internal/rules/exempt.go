package rules

import (
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// SkipAnnotation on a workload or its namespace lists rule IDs (or aliases
// such as "probes", or categories) harden must not check; "all" skips all.
const SkipAnnotation = "harden.kubectl.dev/skip"

// Selects reports whether a user's word for rules — in --fix, --skip,
// --force-conflicts, the skip annotation or a policy file, compared
// trimmed and in lower case — selects this rule: "all", "*", its category,
// or a word that names it (Names). It is the one place that decides it.
func (m Meta) Selects(word string) bool {
	word = normalWord(word)
	return word == "all" || word == "*" || word == string(m.Category) || m.Names(word)
}

// Names reports whether the word names this rule itself: its ID or an
// alias ("probes"), not "all" nor a category. An opt-in fix is planned
// only when the selection names its rule.
func (m Meta) Names(word string) bool {
	word = normalWord(word)
	return word == m.ID || slices.Contains(m.Aliases, word)
}

// SelectedBy reports whether any of the words selects the rule (Selects).
func (m Meta) SelectedBy(words []string) bool { return slices.ContainsFunc(words, m.Selects) }

// SelectedByList is SelectedBy for a comma-separated list, as annotations
// write it: "pdb,probes".
func (m Meta) SelectedByList(list string) bool { return m.SelectedBy(strings.Split(list, ",")) }

// normalWord is a user's word as rule IDs, aliases and categories are
// spelled: trimmed, in lower case.
func normalWord(w string) string { return strings.TrimSpace(strings.ToLower(w)) }

// Exempted reports whether the workload or its namespace opts out of the
// rule, by harden's own annotation or a peer tool's, and names the
// annotation that did.
func Exempted(s *inspect.Snapshot, m Meta) (string, bool) {
	sources := []map[string]string{s.Workload.Annotations()}
	if s.Namespace != nil {
		sources = append(sources, s.Namespace.Annotations)
	}
	for i, ann := range sources {
		if v, ok := ann[SkipAnnotation]; ok && m.SelectedByList(v) {
			where := "workload"
			if i == 1 {
				where = "namespace"
			}
			return where + " annotation " + SkipAnnotation + "=" + v, true
		}
	}
	ann := s.Workload.Annotations()
	for _, o := range m.OptOuts {
		v, ok := ann[o.Annotation]
		if !ok || (o.Value == "" && strings.EqualFold(strings.TrimSpace(v), "false")) {
			continue
		}
		if o.Value == "" || containsWord(v, o.Value) {
			return "annotation " + o.Annotation + "=" + v, true
		}
	}
	return "", false
}

func containsWord(list, word string) bool {
	for _, w := range strings.Split(list, ",") {
		if strings.TrimSpace(w) == word {
			return true
		}
	}
	return false
}

// Target is what an exemption of a policy file is matched against: a
// workload (Kind "Deployment", …) or, for the audit's namespace rules, a
// namespace (Kind and Name empty).
type Target struct {
	Namespace, Kind, Name string
	// Labels are the workload's pod template labels overlaid with its
	// own (metadata.labels): manifests often label only the pods.
	Labels map[string]string
}

// TargetOf is the snapshot's workload as a Target.
func TargetOf(s *inspect.Snapshot) Target {
	w := s.Workload
	path := []string{"spec", "template", "metadata", "labels"}
	if w.Kind() == "CronJob" {
		path = []string{"spec", "jobTemplate", "spec", "template", "metadata", "labels"}
	}
	labels, _, _ := unstructured.NestedStringMap(w.Object.Object, path...)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, w.Object.GetLabels())
	return Target{Namespace: w.Namespace(), Kind: w.Kind(), Name: w.Name(), Labels: labels}
}

// Policy is what a policy file (package policy) changes in evaluation; a
// nil Policy changes nothing.
type Policy interface {
	// Disabled reports whether the rule is turned off: it is not
	// evaluated, so it has no finding and no fix.
	Disabled(id string) bool
	// Severity is the rule's severity when the policy overrides it.
	Severity(id string) (Severity, bool)
	// Exempts reports whether an exemption in force exempts the target
	// from the rule, and its reason ("policy FILE: REASON").
	Exempts(t Target, m Meta) (string, bool)
	// Expired lists one needs-human result per expired exemption that
	// matches the target.
	Expired(t Target) []Result
	// Params are fix parameter defaults by rule ID: Selection.Params
	// (--set) win over them.
	Params() map[string]Params
}

// ParamsOf is rule id's fix parameters: the policy's defaults, overlaid
// with the selection's own (--set, the terminal UI's edits).
func (sel Selection) ParamsOf(id string) Params {
	if sel.Policy == nil {
		return sel.Params[id]
	}
	out := Params{}
	maps.Copy(out, sel.Policy.Params()[id])
	maps.Copy(out, sel.Params[id])
	return out
}

// exempted is Exempted, then the selection's policy file.
func (sel Selection) exempted(s *inspect.Snapshot, m Meta) (string, bool) {
	if why, ok := Exempted(s, m); ok || sel.Policy == nil {
		return why, ok
	}
	return sel.Policy.Exempts(TargetOf(s), m)
}

// Active reports whether the selection's policy leaves rule id on.
func (sel Selection) Active(id string) bool { return sel.Policy == nil || !sel.Policy.Disabled(id) }

// Graded is the finding with the policy's severity for its rule, if any.
func (sel Selection) Graded(f Finding) Finding {
	if sel.Policy != nil {
		if sev, ok := sel.Policy.Severity(f.Rule); ok {
			f.Severity = sev
		}
	}
	return f
}
