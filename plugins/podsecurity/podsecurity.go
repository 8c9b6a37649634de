// Package podsecurity reports the Pod Security Standards' appArmorProfile hostProbesAndHostLifecycle procMount procMount_restricted restrictedVolumes seLinuxOptions windowsHostProcess check(s), which
// no automatic fix can remove safely.
package podsecurity

import (
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() {
	rules.Register(pss.ReportRule(rules.Meta{
		ID: "pod-security", Title: "Other Pod Security Standards checks", Category: rules.Security, Severity: rules.High,
		Kinds:       pss.Kinds,
		Why:         "The Pod Security Standards forbid a few more settings that weaken isolation: an Unconfined AppArmor profile, custom SELinux types, an unmasked /proc, probes and hooks aimed at the host, Windows host processes, and volume types other than the restricted set.",
		Remediation: "Remove the setting the message names; these are rare and always deliberate, so harden only reports them.",
	}, "remove the setting named by the Pod Security Standards message", "appArmorProfile", "hostProbesAndHostLifecycle", "procMount", "procMount_restricted", "restrictedVolumes", "seLinuxOptions", "windowsHostProcess"))
}
