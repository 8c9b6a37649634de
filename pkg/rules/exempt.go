package rules

import (
	"strings"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
)

// SkipAnnotation on a workload or its namespace lists rule IDs (or aliases
// such as "probes", or categories) harden must not check; "all" skips all.
const SkipAnnotation = "harden.kubectl.dev/skip"

// Selects reports whether a user's word for rules (in --fix, --skip or the
// skip annotation) names this rule: its ID, an alias, its category or "all".
func (m Meta) Selects(word string) bool {
	word = strings.TrimSpace(strings.ToLower(word))
	if word == "all" || word == "*" || word == m.ID || word == string(m.Category) {
		return true
	}
	for _, a := range m.Aliases {
		if word == a {
			return true
		}
	}
	return false
}

// Exempted reports whether the workload or its namespace opts out of the
// rule, by harden's own annotation or a peer tool's, and names the
// annotation that did.
func Exempted(s *inspect.Snapshot, m Meta) (string, bool) {
	sources := []map[string]string{s.Workload.Annotations()}
	if s.Namespace != nil {
		sources = append(sources, s.Namespace.Annotations)
	}
	for i, ann := range sources {
		if v, ok := ann[SkipAnnotation]; ok && listSelects(v, m) {
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

func listSelects(list string, m Meta) bool {
	for _, w := range strings.Split(list, ",") {
		if m.Selects(w) {
			return true
		}
	}
	return false
}

func containsWord(list, word string) bool {
	for _, w := range strings.Split(list, ",") {
		if strings.TrimSpace(w) == word {
			return true
		}
	}
	return false
}
