package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// source is the policy file's name as errors give it.
type source string

// errorf is the error "NAME:LINE: message", LINE being n's line; line 1
// when n is nil or has no line (an empty file's document node has line 0).
func (src source) errorf(n *yaml.Node, format string, a ...any) error {
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	return fmt.Errorf("%s:%d: %s", src, line, fmt.Sprintf(format, a...))
}

// check validates the decoded policy; doc is its YAML tree, for lines. It
// returns the first problem: apiVersion and kind, then the rules by ID in
// sort order, then the exemptions in file order. It parses what the
// exemptions need at evaluation (selectors, expiry dates) on the way.
func (p *Policy) check(name string, doc *yaml.Node) error {
	src := source(name)
	if p.APIVersion != APIVersion || p.Kind != Kind {
		return src.errorf(key(doc, "apiVersion"), "apiVersion %q, kind %q: a policy file is apiVersion: %s, kind: %s", p.APIVersion, p.Kind, APIVersion, Kind)
	}
	if err := p.checkRules(src, value(doc, "rules")); err != nil {
		return err
	}
	return p.checkExemptions(src, value(doc, "exemptions"))
}

// checkRules checks the rules section, by rule ID in sort order; node is
// its mapping (or the nearest node there is, for lines).
func (p *Policy) checkRules(src source, node *yaml.Node) error {
	for _, id := range slices.Sorted(maps.Keys(p.Rules)) {
		if err := p.Rules[id].check(src, id, node); err != nil {
			return err
		}
	}
	return nil
}

// check checks one rule's settings: the rule exists, its severity parses
// and it has each parameter given. rulesNode is the rules mapping.
func (s RuleSettings) check(src source, id string, rulesNode *yaml.Node) error {
	m, ok := rules.MetaOf(id)
	if !ok {
		return src.errorf(key(rulesNode, id), "rules: unknown rule %q%s", id, didYouMean(id, ruleIDs()))
	}
	settings := value(rulesNode, id)
	if s.Severity != "" {
		if _, err := rules.ParseSeverity(s.Severity); err != nil {
			return src.errorf(value(settings, "severity"), "rules.%s.severity: %v", id, err)
		}
	}
	return checkParams(src, id, m.Params, s.Params, value(settings, "params"))
}

// checkParams checks that rule id, whose parameters are known, has each
// parameter of params, in sort order; node is the params mapping.
func checkParams(src source, id string, known []rules.Param, params map[string]string, node *yaml.Node) error {
	var names []string
	for _, pm := range known {
		names = append(names, pm.Name)
	}
	for _, param := range slices.Sorted(maps.Keys(params)) {
		if slices.Contains(names, param) {
			continue
		}
		has := "it has no parameters"
		if len(names) > 0 {
			has = "it has: " + strings.Join(names, ", ")
		}
		return src.errorf(key(node, param), "rules.%s.params: rule %s has no parameter %q%s (%s)", id, id, param, didYouMean(param, names), has)
	}
	return nil
}

// checkExemptions checks the exemptions in order and keeps their parsed
// selectors in p.selectors (nil where an exemption has none); node is the
// exemptions sequence, or nil.
func (p *Policy) checkExemptions(src source, node *yaml.Node) error {
	p.selectors = make([]labels.Selector, len(p.Exemptions))
	for i := range p.Exemptions {
		sel, err := p.Exemptions[i].check(src, fmt.Sprintf("exemptions[%d]", i), item(node, i))
		if err != nil {
			return err
		}
		p.selectors[i] = sel
	}
	return nil
}

// item is the i-th node of sequence n; nil when n is nil or shorter.
func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

// check checks one exemption, named where ("exemptions[2]") at node n, in
// the order of its fields' rules: reason, rules, a criterion, selector,
// workloads, expires. It returns the parsed selector (nil when there is
// none) and sets e.expires.
func (e *Exemption) check(src source, where string, n *yaml.Node) (labels.Selector, error) {
	if err := e.checkRequired(src, where, n); err != nil {
		return nil, err
	}
	sel, err := e.parseSelector(src, where, n)
	if err != nil {
		return nil, err
	}
	if err := e.checkWorkloads(src, where, n); err != nil {
		return nil, err
	}
	return sel, e.parseExpires(src, where, n)
}

// checkRequired checks what every exemption needs: a reason, known rule
// words and at least one criterion (namespaces, selector or workloads).
func (e *Exemption) checkRequired(src source, where string, n *yaml.Node) error {
	if strings.TrimSpace(e.Reason) == "" {
		return src.errorf(n, "%s: reason is required: say why the rule does not apply", where)
	}
	if len(e.Rules) == 0 {
		return src.errorf(n, "%s: rules is required: rule IDs, aliases, categories or all", where)
	}
	for _, w := range e.Rules {
		if !knownWord(w) {
			return src.errorf(value(n, "rules"), "%s.rules: unknown rule %q%s", where, w, didYouMean(w, ruleIDs()))
		}
	}
	if len(e.Namespaces) == 0 && e.Selector == "" && len(e.Workloads) == 0 {
		return src.errorf(n, "%s: give namespaces, selector or workloads: an exemption of every workload is rules.ID.enabled: false", where)
	}
	return nil
}

// parseSelector parses the exemption's label selector, kubectl's syntax
// (labels.Parse); nil when there is none.
func (e *Exemption) parseSelector(src source, where string, n *yaml.Node) (labels.Selector, error) {
	if e.Selector == "" {
		return nil, nil
	}
	sel, err := labels.Parse(e.Selector)
	if err != nil {
		return nil, src.errorf(value(n, "selector"), "%s.selector: %v", where, err)
	}
	return sel, nil
}

// checkWorkloads checks that each workload pattern is KIND/NAME or
// NAMESPACE/KIND/NAME.
func (e *Exemption) checkWorkloads(src source, where string, n *yaml.Node) error {
	for _, w := range e.Workloads {
		if c := strings.Count(w, "/"); c < 1 || c > 2 {
			return src.errorf(value(n, "workloads"), "%s.workloads: %q: use KIND/NAME or NAMESPACE/KIND/NAME, e.g. deployment/web", where, w)
		}
	}
	return nil
}

// parseExpires parses the expiry date, YYYY-MM-DD (midnight UTC), into
// e.expires; the zero time when there is none.
func (e *Exemption) parseExpires(src source, where string, n *yaml.Node) error {
	if e.Expires == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, e.Expires)
	if err != nil {
		return src.errorf(value(n, "expires"), "%s.expires: %q is not a date: use YYYY-MM-DD, e.g. 2026-12-31", where, e.Expires)
	}
	e.expires = t
	return nil
}
