// Package report renders what harden found and plans: a readable text
// summary, a coloured diff, and the documented JSON/YAML schema.
package report

import (
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// APIVersion and Kind identify the machine-readable report.
const (
	APIVersion = "harden.kubectl.dev/v1alpha1"
	Kind       = "Report"
)

// Report is the -o json|yaml document.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Policy is the policy file the run used; absent without one.
	Policy    *policy.Ref `json:"policy,omitempty"`
	Workloads []Workload  `json:"workloads"`
}

// Workload is one workload's findings, plan and outcome.
type Workload struct {
	Kind      string         `json:"kind"`
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Score     int            `json:"score"`
	Findings  []rules.Result `json:"findings"`
	Plan      *Plan          `json:"plan,omitempty"`
	Applied   bool           `json:"applied"`
	Warnings  []string       `json:"warnings,omitempty"`
	Rollout   string         `json:"rollout,omitempty"`
	// Unread are the reads the API server refused (a read-only user):
	// what the report could not know.
	Unread []inspect.Unread `json:"unread,omitempty"`
}

// Plan is the plan as reported: each object's apply configuration and
// its RFC 6902 patch.
type Plan struct {
	FieldManager string   `json:"fieldManager"`
	Objects      []Object `json:"objects"`
}

// Object is one planned object.
type Object struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace,omitempty"`
	Name       string           `json:"name"`
	Action     string           `json:"action"` // create or update
	Rules      []string         `json:"rules"`
	Apply      map[string]any   `json:"apply"`
	Patch      []plan.Operation `json:"patch"`
}

// NewPlan converts a plan for reporting.
func NewPlan(p *plan.Plan) (*Plan, error) {
	if p == nil || p.Empty() {
		return nil, nil
	}
	out := &Plan{FieldManager: p.FieldManager}
	for _, o := range p.Objects {
		patch, err := o.Patch()
		if err != nil {
			return nil, err
		}
		action := "update"
		if o.Create {
			action = "create"
		}
		out.Objects = append(out.Objects, Object{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
			Action: action, Rules: o.Rules, Apply: o.Apply, Patch: patch})
	}
	return out, nil
}
