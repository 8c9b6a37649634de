// Package readonlyrootfs requires a read-only root filesystem, with a
// writable emptyDir at /tmp.
package readonlyrootfs

import (
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the read-only-root-fs rule.
type Rule struct{}

const id = "read-only-root-fs"

// TmpVolume is the emptyDir harden mounts at /tmp.
const TmpVolume = "harden-tmp"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Read-only root filesystem", Category: rules.Security, Severity: rules.Medium,
		Kinds: pss.Kinds,
		Why: "A writable root filesystem lets an attacker drop tools and binaries into the container and " +
			"modify the app itself; it also hides state that is lost on restart.",
		Remediation: "Set securityContext.readOnlyRootFilesystem: true, with an emptyDir mounted at /tmp for " +
			"scratch files. Apps that write elsewhere (caches, uploads, PID and lock files) need more emptyDir " +
			"mounts: such a write fails only when the app makes it, hours after the rollout watch, so the fix is " +
			"planned only when the rule is named (--fix=read-only-root-fs), never by --fix=all or --fix=security.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/notReadOnlyRootFilesystem-exempt"}, {Annotation: "ignore-check.kube-linter.io/no-read-only-root-fs"},
			{Annotation: "kube-score/ignore", Value: "container-security-context-readonlyrootfilesystem"}},
	}
}

func writable(s *inspect.Snapshot) []rules.Container {
	var out []rules.Container
	for _, c := range rules.Containers(s) {
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			out = append(out, c)
		}
	}
	return out
}

// OptIn is why the fix is planned only when the rule is named: nothing
// in a spec or a pod's status proves where an app writes, and a write to
// the read-only root fails only when the app makes it, hours after the
// rollout watch.
// The status reason appends how to name it (rules.OptInReason), so this says
// only why, and what to do first.
const OptIn = "a write outside /tmp and the container's volumes (caches, uploads, PID and lock files) " +
	"fails at runtime, after the rollout watch: first mount an emptyDir at each other path the app writes to"

// Check reports containers with a writable root filesystem. The finding is
// opt-in (rules.Finding.OptIn): --fix=all leaves it skipped with OptIn as
// the reason.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var names []string
	for _, c := range writable(s) {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return nil
	}
	return []rules.Finding{{Field: "securityContext.readOnlyRootFilesystem",
		Message: "containers " + strings.Join(names, ", ") + " can write to their root filesystem",
		OptIn:   OptIn}}
}

// Fix makes the root filesystems read-only and mounts an emptyDir at /tmp
// in containers that have nothing mounted there.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, _ rules.Params) (*rules.Fix, error) {
	spec := map[string]any{}
	var names []string
	needVolume := false
	for _, c := range writable(s) {
		item := map[string]any{"name": c.Name, "securityContext": map[string]any{"readOnlyRootFilesystem": true}}
		hasTmp := false
		for _, m := range c.VolumeMounts {
			hasTmp = hasTmp || m.MountPath == "/tmp"
		}
		if !hasTmp {
			item["volumeMounts"] = []any{map[string]any{"name": TmpVolume, "mountPath": "/tmp"}}
			needVolume = true
		}
		list, _ := spec[c.List].([]any)
		spec[c.List] = append(list, item)
		names = append(names, c.Name)
	}
	if needVolume {
		spec["volumes"] = []any{map[string]any{"name": TmpVolume, "emptyDir": map[string]any{}}}
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, spec, rules.PodSpecPath(s.Workload)...)
	return &rules.Fix{
		Description: "read-only root filesystem for " + strings.Join(names, ", ") + ", with an emptyDir at /tmp",
		Changes:     []rules.Change{{Object: obj}},
		Warnings: []string{"a write outside /tmp and the containers' volumes fails when the app makes it, at runtime: the rollout " +
			"watch only catches a failed start; mount an emptyDir at each other path the app writes to"},
	}, nil
}
