// Package hostnamespaces reports the Pod Security Standards' hostNamespaces check(s), which
// no automatic fix can remove safely.
package hostnamespaces

import (
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() {
	rules.Register(pss.ReportRule(rules.Meta{
		ID: "host-namespaces", Title: "Host namespaces", Category: rules.Security, Severity: rules.High,
		Kinds:       pss.Kinds,
		Why:         "Sharing the node's network, PID or IPC namespace lets a container see and reach every process and socket of the node, bypassing NetworkPolicies and the container boundary.",
		Remediation: "Remove hostNetwork, hostPID and hostIPC unless this is a node agent that needs them; then keep it in a namespace labelled for privileged pods.",
	}, "remove hostNetwork/hostPID/hostIPC, or run the workload in a namespace meant for node agents", "hostNamespaces"))
}
