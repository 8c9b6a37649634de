package runasnonroot

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/images"
)

// guessRisk is one reason why guessing DefaultUID for a container whose
// user is unknown may break the app in a way no rollout shows.
type guessRisk struct {
	// why is the whole reason, what was seen first, with what to do
	// instead, e.g. "image postgres:16 (container db) is a data store: …".
	why string
}

// guessRisks lists, for the containers whose user is unknown (who.guessed),
// why a guessed UID is not safe: a known root-starting image or data store
// (images.Lookup on the image, else a data-store word in the container's
// or the workload's name), else a persistent volume whose files belong to
// the image's user. Empty when the guess is the only risk (the rollout
// watch catches an image that cannot start).
func guessRisks(s *inspect.Snapshot, who identity) []guessRisk {
	if len(who.guessed) == 0 {
		return nil
	}
	vol := persistentVolume(s)
	var out []guessRisk
	for _, c := range rules.Containers(s) {
		if !slices.Contains(who.guessed, c.Name) {
			continue
		}
		if r, ok := imageRisk(s, c, vol); ok {
			out = append(out, r)
		}
	}
	if len(out) == 0 && vol != "" {
		out = append(out, guessRisk{
			why: fmt.Sprintf("%s holds files that belong to the image's user, which the kubelet does not report: as UID %d the app "+
				"may fail to read or write them, and fsGroup %d would change the group of every file on it (not the owner), which "+
				"no rollback undoes; set the image's UID (--set %s.uid=N)", vol, DefaultUID, DefaultUID, id)})
	}
	return out
}

// imageRisk says why a guessed UID breaks container c: its image starts as
// root and switches to its own user, or it is a data store whose files
// belong to that user. vol names the pod's persistent volume, "" for none.
func imageRisk(s *inspect.Snapshot, c rules.Container, vol string) (guessRisk, bool) {
	what := fmt.Sprintf("image %s (container %s)", c.Image, c.Name)
	k, ok := images.Lookup(c.Image)
	if !ok {
		// A data store in an image of its own (guestbook's gb-redisslave)
		// often says so in its container's or workload's name.
		for _, sub := range [][2]string{{"container name " + c.Name, c.Name}, {"name " + s.Workload.Name(), s.Workload.Name()}} {
			if w := images.StoreWord(sub[1]); w != "" {
				what, k, ok = fmt.Sprintf("%s (image %s) says %q", sub[0], c.Image, w), images.Known{Word: w, Store: true}, true
				break
			}
		}
	}
	if !ok {
		return guessRisk{}, false
	}
	files := "its data files"
	if vol != "" {
		files = "its data files (" + vol + ")"
	}
	switch {
	case k.Store && k.UID != 0 && k.RootStart:
		return guessRisk{
			why: fmt.Sprintf("%s runs as root and switches to its own user (%d for the official image); %s belong to that user: "+
				"set runAsUser to it (--set %s.uid=%d) rather than a guess (UID %d)", what, k.UID, files, id, k.UID, DefaultUID)}, true
	case k.Store && k.UID != 0:
		return guessRisk{
			why: fmt.Sprintf("%s runs as UID %d; %s belong to that user: set runAsUser to it (--set %s.uid=%d) rather than a "+
				"guess (UID %d)", what, k.UID, files, id, k.UID, DefaultUID)}, true
	case k.Store:
		return guessRisk{
			why: fmt.Sprintf("%s is a data store: %s belong to the image's user, which the kubelet does not report: set runAsUser "+
				"to it (--set %s.uid=N) rather than a guess (UID %d)", what, files, id, DefaultUID)}, true
	}
	instead := "use an image built to run unprivileged on a port above 1023, and give its UID (--set " + id + ".uid=N)"
	if k.Instead != "" {
		instead = "use " + k.Instead
	}
	return guessRisk{
		why: fmt.Sprintf("%s starts as root and switches to user %s (%d) itself, as the image's own startup warning says: as UID %d "+
			"it fails to start; %s", what, k.User, k.UID, DefaultUID, instead)}, true
}

// persistentVolume names the first volume whose files outlive the pod and
// so belong to whoever wrote them, e.g. "volume data (PersistentVolumeClaim
// web-data)": a claim, an ephemeral claim, a StatefulSet's claim template.
// "" when there is none.
func persistentVolume(s *inspect.Snapshot) string {
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			return fmt.Sprintf("volume %s (PersistentVolumeClaim %s)", v.Name, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			return fmt.Sprintf("volume %s (ephemeral claim)", v.Name)
		}
	}
	if st := s.Workload.StatefulSet; st != nil && len(st.Spec.VolumeClaimTemplates) > 0 {
		return fmt.Sprintf("volume %s (volumeClaimTemplates)", st.Spec.VolumeClaimTemplates[0].Name)
	}
	return ""
}

// fsGroupWarning says what fsGroup does to the volumes, when the fix sets
// it: the kubelet changes their group (not the owner) at every mount.
func fsGroupWarning(s *inspect.Snapshot, gid int64) string {
	policy := "at every mount"
	if sc := s.Workload.PodTemplate().Spec.SecurityContext; sc != nil && sc.FSGroupChangePolicy != nil &&
		*sc.FSGroupChangePolicy == corev1.FSGroupChangeOnRootMismatch {
		policy = "when the volume's root does not match"
	}
	return fmt.Sprintf("fsGroup %d: the kubelet changes the group (not the owner) of every file on %s to %d and makes it group-writable, "+
		"%s; a rollback does not change them back", gid, persistentVolume(s), gid, policy)
}
