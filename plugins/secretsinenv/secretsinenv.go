// Package secretsinenv reports credentials written as literal environment
// values.
package secretsinenv

import (
	"fmt"
	"regexp"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the secrets-in-env rule.
type Rule struct{}

const id = "secrets-in-env"

// credential matches variable names that usually hold a secret.
var credential = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH)`)

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "No credentials in literal env values", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "A password written as a literal env value is stored in plain text in the workload's spec: " +
			"anyone who can read the Deployment (and its Git history, and its ReplicaSets) can read it, and " +
			"rotating it means a rollout.",
		Remediation: "Put the value in a Secret and reference it with env[].valueFrom.secretKeyRef (or " +
			"envFrom.secretRef); better, mount it as a file. harden only reports these: it never copies a " +
			"secret anywhere.",
		OptOuts: []rules.OptOut{{Annotation: "ignore-check.kube-linter.io/env-var-secret"}},
	}
}

// Check reports each literal credential, never its value.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, c := range rules.Containers(s) {
		for _, e := range c.Env {
			if e.Value != "" && e.ValueFrom == nil && credential.MatchString(e.Name) {
				out = append(out, rules.Finding{Container: c.Name, Field: "env",
					Message:    fmt.Sprintf("container %s: env %s holds a literal value that looks like a credential", c.Name, e.Name),
					NeedsHuman: "move " + e.Name + " into a Secret and use valueFrom.secretKeyRef"})
			}
		}
	}
	return out
}

// Fix never changes anything: a secret must not be copied by a tool.
func (Rule) Fix(*inspect.Snapshot, rules.Finding, rules.Params) (*rules.Fix, error) {
	return nil, rules.NeedsHumanf("move the value into a Secret by hand")
}
