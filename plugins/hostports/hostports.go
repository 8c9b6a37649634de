// Package hostports reports the Pod Security Standards' hostPorts check(s), which
// no automatic fix can remove safely.
package hostports

import (
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() {
	rules.Register(pss.ReportRule(rules.Meta{
		ID: "host-ports", Title: "Host ports", Category: rules.Security, Severity: rules.Medium,
		Kinds:       pss.Kinds,
		Why:         "A hostPort binds the node's own port: it bypasses Services and NetworkPolicies, exposes the pod on the node's address, and limits scheduling to one such pod per node.",
		Remediation: "Expose the pod through a Service (ClusterIP, NodePort or LoadBalancer) instead of hostPort.",
	}, "remove the hostPort and expose the pod through a Service", "hostPorts"))
}
