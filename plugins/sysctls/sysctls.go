// Package sysctls reports the Pod Security Standards' sysctls check(s), which
// no automatic fix can remove safely.
package sysctls

import (
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() {
	rules.Register(pss.ReportRule(rules.Meta{
		ID: "sysctls", Title: "Safe sysctls only", Category: rules.Security, Severity: rules.High,
		Kinds:       pss.Kinds,
		Why:         "Unsafe sysctls change kernel settings shared by every pod of the node: a pod can degrade or destabilise its neighbours. Pod Security Standards baseline allows only the namespaced, safe ones.",
		Remediation: "Remove the unsafe sysctls from spec.securityContext.sysctls, or tune the node itself.",
	}, "remove the unsafe sysctls, or tune the node instead", "sysctls"))
}
