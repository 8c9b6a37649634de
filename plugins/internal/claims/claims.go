// Package claims says which PersistentVolumeClaims a workload's pods mount
// that two pods cannot hold at once on different nodes: what decides
// whether a rollout may start a new pod before an old one stops.
package claims

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// Claim is one PersistentVolumeClaim volume of the pod template that is not
// shareable across nodes.
type Claim struct {
	Volume string // the pod's volume name
	Name   string // the claim's name
	// Mode is its access mode as the bound volume reports it
	// (status.accessModes) else as requested (spec.accessModes), e.g.
	// "ReadWriteOnce"; "unknown" when the claim could not be read.
	Mode string
	// Why the mode is unknown: the claim is not in the namespace, or the
	// claims could not be listed (inspect.Snapshot.ClaimsUnread); "" when
	// known.
	Unknown string
}

// Describe names the claim and its mode, e.g. "PersistentVolumeClaim data
// (ReadWriteOnce)" or "PersistentVolumeClaim data (access mode unknown: the
// claims could not be listed (forbidden))".
func (c Claim) Describe() string {
	if c.Unknown != "" {
		return "PersistentVolumeClaim " + c.Name + " (access mode unknown: " + c.Unknown + ")"
	}
	return "PersistentVolumeClaim " + c.Name + " (" + c.Mode + ")"
}

// Unshareable lists the pod template's persistentVolumeClaim volumes that
// are neither ReadWriteMany nor ReadOnlyMany — the attach/detach controller
// attaches only those to many nodes — in volume order. A claim whose mode
// is unknown counts as not shareable. Mounting a ReadWriteOnce claim
// read-only does not help: the volume still attaches to one node.
// Ephemeral volumes are left out: each pod gets its own claim.
func Unshareable(s *inspect.Snapshot) []Claim {
	var out []Claim
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		if c, shared := Lookup(s, v.Name, v.PersistentVolumeClaim.ClaimName); !shared {
			out = append(out, c)
		}
	}
	return out
}

// Lookup finds the claim a volume mounts among the namespace's and says
// whether pods on several nodes can share it (ReadWriteMany or
// ReadOnlyMany, by the bound volume's status.accessModes, else the
// requested spec.accessModes). A claim not found is not shareable, with
// Unknown saying why.
func Lookup(s *inspect.Snapshot, volume, claim string) (c Claim, shared bool) {
	c = Claim{Volume: volume, Name: claim}
	i := slices.IndexFunc(s.PersistentVolumeClaims, func(p corev1.PersistentVolumeClaim) bool { return p.Name == claim })
	if i < 0 {
		c.Mode, c.Unknown = "unknown", "it is not in the namespace"
		if s.ClaimsUnread() != "" {
			c.Unknown = "the claims could not be listed (" + s.ClaimsUnread() + ")"
		}
		return c, false
	}
	modes := s.PersistentVolumeClaims[i].Status.AccessModes
	if len(modes) == 0 {
		modes = s.PersistentVolumeClaims[i].Spec.AccessModes
	}
	if slices.Contains(modes, corev1.ReadWriteMany) || slices.Contains(modes, corev1.ReadOnlyMany) {
		return c, true
	}
	c.Mode = "no access mode"
	if len(modes) > 0 {
		c.Mode = string(modes[0])
	}
	return c, false
}
