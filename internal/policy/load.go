package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Discover finds the policy file for a run started in dir: the nearest
// .harden.yaml in dir or one of its parents. The walk stops at the root of
// the git repository dir is in (the first directory holding .git, which is
// searched too), like .editorconfig's root = true: a repository's checked-in
// policy applies to it, and a file above the repository (a home directory's)
// does not leak into it. Outside a repository the walk goes up to the
// filesystem root. It returns "" when there is none.
func Discover(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, FileName)
		if st, err := os.Stat(candidate); err == nil && !st.IsDir() {
			return candidate, nil
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("policy file: %w", err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "", nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// Load reads and checks the policy file at path (see Parse); Ref is set to
// its absolute path and sha256.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	p.Ref = Ref{Path: path, SHA256: hex.EncodeToString(sum[:])}
	return p, nil
}

// Parse decodes a policy strictly and checks it against the rule registry.
// Errors start with "name:LINE:" (name is the file's path): an unknown key,
// an apiVersion or kind other than harden.kubectl.dev/v1alpha1 Policy, an
// unknown rule ID or parameter (with the nearest one: "did you mean pdb?"),
// a bad severity, an exemption without reason, rules or criterion, a bad
// selector, workload pattern or expiry date.
func Parse(name string, data []byte) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	p := &Policy{Ref: Ref{Path: name}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(name, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if err := p.check(name, doc); err != nil {
		return nil, err
	}
	return p, nil
}

var fieldNotFound = regexp.MustCompile(`^line (\d+): field (\S+) not found in type policy\.(\w+)$`)

// decodeError rewrites yaml.v3's errors as "name:LINE: …", an unknown key
// named with where it may not appear.
func decodeError(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var msgs []string
	for _, e := range te.Errors {
		if m := fieldNotFound.FindStringSubmatch(e); m != nil {
			where := map[string]string{"Policy": "at the top level", "RuleSettings": "in a rule's settings (enabled, severity, params)",
				"Exemption": "in an exemption (rules, namespaces, selector, workloads, reason, expires)"}[m[3]]
			msgs = append(msgs, fmt.Sprintf("%s:%s: unknown key %q %s", name, m[1], m[2], where))
			continue
		}
		if line, rest, ok := strings.Cut(strings.TrimPrefix(e, "line "), ": "); ok {
			msgs = append(msgs, fmt.Sprintf("%s:%s: %s", name, line, rest))
			continue
		}
		msgs = append(msgs, name+": "+e)
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// check validates the decoded policy; doc is its YAML tree, for lines.
func (p *Policy) check(name string, doc *yaml.Node) error {
	at := func(n *yaml.Node, format string, a ...any) error {
		line := 1
		if n != nil {
			line = n.Line
		}
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
	}
	if p.APIVersion != APIVersion || p.Kind != Kind {
		return at(key(doc, "apiVersion"), "apiVersion %q, kind %q: a policy file is apiVersion: %s, kind: %s", p.APIVersion, p.Kind, APIVersion, Kind)
	}
	rulesNode := value(doc, "rules")
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range p.Rules {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		s := p.Rules[id]
		idNode := key(rulesNode, id)
		m, ok := rules.MetaOf(id)
		if !ok {
			return at(idNode, "rules: unknown rule %q%s", id, didYouMean(id, ruleIDs()))
		}
		if s.Severity != "" {
			if _, err := rules.ParseSeverity(s.Severity); err != nil {
				return at(value(value(rulesNode, id), "severity"), "rules.%s.severity: %v", id, err)
			}
		}
		for _, param := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Params {
				if !yield(k) {
					return
				}
			}
		}) {
			var names []string
			for _, pm := range m.Params {
				names = append(names, pm.Name)
			}
			if !slices.Contains(names, param) {
				has := "it has no parameters"
				if len(names) > 0 {
					has = "it has: " + strings.Join(names, ", ")
				}
				return at(key(value(value(rulesNode, id), "params"), param), "rules.%s.params: rule %s has no parameter %q%s (%s)", id, id, param, didYouMean(param, names), has)
			}
		}
	}
	exNode := value(doc, "exemptions")
	p.selectors = make([]labels.Selector, len(p.Exemptions))
	for i := range p.Exemptions {
		e := &p.Exemptions[i]
		var n *yaml.Node
		if exNode != nil && i < len(exNode.Content) {
			n = exNode.Content[i]
		}
		where := fmt.Sprintf("exemptions[%d]", i)
		if strings.TrimSpace(e.Reason) == "" {
			return at(n, "%s: reason is required: say why the rule does not apply", where)
		}
		if len(e.Rules) == 0 {
			return at(n, "%s: rules is required: rule IDs, aliases, categories or all", where)
		}
		for _, w := range e.Rules {
			if !knownWord(w) {
				return at(value(n, "rules"), "%s.rules: unknown rule %q%s", where, w, didYouMean(w, ruleIDs()))
			}
		}
		if len(e.Namespaces) == 0 && e.Selector == "" && len(e.Workloads) == 0 {
			return at(n, "%s: give namespaces, selector or workloads: an exemption of every workload is rules.ID.enabled: false", where)
		}
		if e.Selector != "" {
			sel, err := labels.Parse(e.Selector)
			if err != nil {
				return at(value(n, "selector"), "%s.selector: %v", where, err)
			}
			p.selectors[i] = sel
		}
		for _, w := range e.Workloads {
			if c := strings.Count(w, "/"); c < 1 || c > 2 {
				return at(value(n, "workloads"), "%s.workloads: %q: use KIND/NAME or NAMESPACE/KIND/NAME, e.g. deployment/web", where, w)
			}
		}
		if e.Expires != "" {
			t, err := time.Parse(time.DateOnly, e.Expires)
			if err != nil {
				return at(value(n, "expires"), "%s.expires: %q is not a date: use YYYY-MM-DD, e.g. 2026-12-31", where, e.Expires)
			}
			e.expires = t
		}
	}
	return nil
}

func allMetas() []rules.Meta {
	var out []rules.Meta
	for _, r := range rules.All() {
		out = append(out, r.Meta())
	}
	for _, r := range rules.NamespaceRules() {
		out = append(out, r.Meta())
	}
	return out
}

func ruleIDs() []string {
	var ids []string
	for _, m := range allMetas() {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// knownWord reports whether a word of an exemption's rules names a rule:
// an ID, alias, category or "all".
func knownWord(w string) bool {
	return slices.ContainsFunc(allMetas(), func(m rules.Meta) bool { return m.Selects(w) })
}

// key is the key node of field k in mapping n, or nil.
func key(n *yaml.Node, k string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i]
		}
	}
	return n
}

// value is the value node of field k in mapping n; n itself when absent
// (the nearest line there is), nil for nil.
func value(n *yaml.Node, k string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i+1]
		}
	}
	return n
}

// didYouMean is " (did you mean X?)" for the candidate nearest to word
// when it is near enough to be a typo (at most a third of its letters,
// and at least 1, differ), else "".
func didYouMean(word string, candidates []string) string {
	best := rules.Closest(word, candidates)
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}
