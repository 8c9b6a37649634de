// Package barepods flags pods that no controller owns.
package barepods

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func init() { rules.RegisterNamespace(Rule{}) }

// Rule is the bare-pods rule.
type Rule struct{}

const id = "bare-pods"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "No bare pods", Category: rules.Availability, Severity: rules.High,
		Kinds: []string{"Namespace"},
		Why: "A pod created directly, with no Deployment, StatefulSet, DaemonSet or Job owning it, is not " +
			"recreated when its node fails, is drained or is upgraded: it is simply gone.",
		Remediation: "Run it from a Deployment (or a Job for one-off work).",
	}
}

// Check reports each running pod without a controller.
func (r Rule) Check(ns *inspect.NamespaceSnapshot) []rules.Finding {
	var out []rules.Finding
	for i := range ns.Pods {
		p := &ns.Pods[i]
		if metav1.GetControllerOf(p) != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		out = append(out, rules.Finding{Field: "pod/" + p.Name,
			Message:    fmt.Sprintf("pod %s has no controller: nothing recreates it when its node goes away", p.Name),
			NeedsHuman: "run it from a Deployment"})
	}
	return out
}
