package replicas

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/claims"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/images"
)

// risk is one reason why a second copy of the workload may not be safe.
type risk struct {
	// Short names what was seen, e.g. `image redis:7 says "redis"`: in the
	// finding's message and in the description of a fix made anyway.
	Short string
	// Why is the whole reason, with what a human can do about it.
	Why string
}

// leaderWords are name words that say one copy is meant to lead or write.
var leaderWords = []string{"master", "primary", "leader", "writer", "singleton"}

// copyRisks lists why more copies of the workload's pods are not known to
// be safe, in a fixed order: update strategy, volumes, data-store and
// leader words, Leases. Empty when nothing says so.
func copyRisks(s *inspect.Snapshot) []risk {
	var out []risk
	if d := s.Workload.Deployment; d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		out = append(out, risk{Short: "strategy Recreate",
			Why: "spec.strategy.type is Recreate: the author made sure two pods never run together (a lock, a " +
				"single writer, a volume); if two may, switch to RollingUpdate first"})
	}
	spec := s.Workload.PodTemplate().Spec
	for _, v := range spec.Volumes {
		if r, ok := volumeRisk(s, v); ok {
			out = append(out, r)
		}
	}
	out = append(out, wordRisks(s)...)
	if r, ok := leaseRisk(s); ok {
		out = append(out, r)
	}
	return out
}

// volumeRisk says why a volume cannot be shared by pods on other nodes:
// a claim that is not ReadWriteMany or ReadOnlyMany (an unknown access mode
// counts as not shareable), a hostPath, or an inline disk that attaches to
// one node.
func volumeRisk(s *inspect.Snapshot, v corev1.Volume) (risk, bool) {
	switch {
	case v.PersistentVolumeClaim != nil:
		return claimRisk(s, v.Name, v.PersistentVolumeClaim)
	case v.HostPath != nil:
		return risk{Short: "hostPath volume " + v.Name,
			Why: fmt.Sprintf("volume %s is hostPath %s: every node has its own, so a pod on another node reads and "+
				"writes other files; keep shared data in a ReadWriteMany PersistentVolumeClaim", v.Name, v.HostPath.Path)}, true
	}
	if disk := singleAttachDisk(v); disk != "" {
		return risk{Short: disk + " volume " + v.Name,
			Why: fmt.Sprintf("volume %s (%s) attaches to one node at a time: a pod on another node cannot start; "+
				"give each pod its own disk (a StatefulSet with volumeClaimTemplates)", v.Name, disk)}, true
	}
	return risk{}, false
}

// singleAttachDisk names the inline volume types that attach read-write to
// one node only (gcePersistentDisk, iscsi, rbd and fc may be attached
// read-only to many): "" for the others.
func singleAttachDisk(v corev1.Volume) string {
	switch src := v.VolumeSource; {
	case src.AWSElasticBlockStore != nil:
		return "awsElasticBlockStore disk"
	case src.AzureDisk != nil:
		return "azureDisk"
	case src.Cinder != nil:
		return "cinder volume"
	case src.VsphereVolume != nil:
		return "vsphereVolume disk"
	case src.GCEPersistentDisk != nil && !src.GCEPersistentDisk.ReadOnly:
		return "read-write gcePersistentDisk"
	case src.ISCSI != nil && !src.ISCSI.ReadOnly:
		return "read-write iscsi volume"
	case src.RBD != nil && !src.RBD.ReadOnly:
		return "read-write rbd volume"
	case src.FC != nil && !src.FC.ReadOnly:
		return "read-write fc volume"
	}
	return ""
}

// claimRisk says why a claim cannot be shared by pods on other nodes. The
// bound volume's access modes (status.accessModes) decide, else the
// requested ones: ReadWriteMany or ReadOnlyMany can be shared, as the
// attach/detach controller allows them on many nodes. Mounting a
// ReadWriteOnce claim read-only does not help: the volume still attaches to
// one node.
func claimRisk(s *inspect.Snapshot, volume string, src *corev1.PersistentVolumeClaimVolumeSource) (risk, bool) {
	c, shared := claims.Lookup(s, volume, src.ClaimName)
	if shared {
		return risk{}, false
	}
	short := "PersistentVolumeClaim " + src.ClaimName
	fix := "give each pod its own claim (a StatefulSet with volumeClaimTemplates) or use a ReadWriteMany claim"
	if c.Unknown != "" {
		return risk{Short: short + " (access mode unknown)",
			Why: fmt.Sprintf("volume %s mounts PersistentVolumeClaim %s, whose access mode is unknown (%s): a pod on "+
				"another node may not be able to attach it; %s", volume, src.ClaimName, c.Unknown, fix)}, true
	}
	who := "a pod on another node cannot attach it"
	if c.Mode == string(corev1.ReadWriteOncePod) {
		who = "no second pod may mount it, even on the same node"
	}
	return risk{Short: fmt.Sprintf("%s (%s)", short, c.Mode),
		Why: fmt.Sprintf("volume %s mounts PersistentVolumeClaim %s (%s): %s; %s", volume, src.ClaimName, c.Mode, who, fix)}, true
}

// subject is a name harden reads words from: its images' repository names
// (the surest sign, first), the workload's name, its containers' names,
// and the values of its pod labels for a role or component.
type subject struct{ what, words string }

func subjects(s *inspect.Snapshot) []subject {
	t := s.Workload.PodTemplate()
	var out []subject
	// Init containers are left out: one that waits for a database often
	// runs the database's image as a client (pg_isready, redis-cli).
	cs := rules.Containers(s, rules.RegularContainers)
	for _, c := range cs {
		out = append(out, subject{fmt.Sprintf("image %s (container %s)", c.Image, c.Name), images.Name(c.Image)})
	}
	out = append(out, subject{"name " + s.Workload.Name(), s.Workload.Name()})
	for _, c := range cs {
		out = append(out, subject{"container name " + c.Name, c.Name})
	}
	keys := make([]string, 0, len(t.Labels))
	for k := range t.Labels {
		if last := k[strings.LastIndex(k, "/")+1:]; last == "role" || last == "component" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, subject{"label " + k + "=" + t.Labels[k], t.Labels[k]})
	}
	return out
}

// wordRisks reports the first subject that names a data store and the
// first that names a leader, saying which word matched.
func wordRisks(s *inspect.Snapshot) []risk {
	var store, leader *risk
	for _, sub := range subjects(s) {
		if w := images.StoreWord(sub.words); store == nil && w != "" {
			store = &risk{Short: fmt.Sprintf("%s says %q", sub.what, w),
				Why: fmt.Sprintf("%s says %q, a data store whose copies do not share their data by themselves: a "+
					"second pod is a second, independent server behind the same Service; run it replicated as its "+
					"documentation says (a StatefulSet or an operator with replication)", sub.what, w)}
		}
		for _, w := range images.Words(sub.words) {
			if leader == nil && slices.Contains(leaderWords, w) {
				leader = &risk{Short: fmt.Sprintf("%s says %q", sub.what, w),
					Why: fmt.Sprintf("%s says %q: one copy is meant to lead or write, and a second copy would do so too; "+
						"scale its followers instead, or make it a replicated set with one elected %s", sub.what, w, w)}
			}
		}
	}
	var out []risk
	for _, r := range []*risk{store, leader} {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// leaseRisk reports a Lease held by one of the workload's pods: its
// holderIdentity is the pod's name, or starts with it followed by a
// separator (client-go's leader election writes "HOSTNAME_UUID", and a
// pod's hostname is its name). Leader election means the app was built for
// one active copy.
func leaseRisk(s *inspect.Snapshot) (risk, bool) {
	for _, l := range s.Leases {
		if l.Spec.HolderIdentity == nil {
			continue
		}
		holder := *l.Spec.HolderIdentity
		for _, p := range s.Pods {
			if !heldBy(holder, p.Name) {
				continue
			}
			return risk{Short: fmt.Sprintf("pod %s holds Lease %s", p.Name, l.Name),
				Why: fmt.Sprintf("pod %s holds Lease %s (holderIdentity %s): the app elects a leader, so it was built "+
					"for one active copy and a second one only waits as a standby; that is safe only if the app "+
					"documents standby copies (most leader-elected controllers do)", p.Name, l.Name, holder)}, true
		}
	}
	return risk{}, false
}

// heldBy reports whether a Lease holderIdentity names the pod.
func heldBy(holder, pod string) bool {
	if holder == pod {
		return true
	}
	if !strings.HasPrefix(holder, pod) {
		return false
	}
	next := holder[len(pod)]
	return (next < 'a' || next > 'z') && (next < '0' || next > '9')
}
