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

	yaml "go.yaml.in/yaml/v3"

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
