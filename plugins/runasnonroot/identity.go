package runasnonroot

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// user is the UID and primary GID a container's process starts with.
type user struct{ uid, gid int64 }

// liveUsers maps container names (init and regular) to the user the
// kubelet reports they run as (status.containerStatuses[].user.linux,
// from kubelets with the SupplementalGroupsPolicy feature), when every pod
// reporting that container agrees. A container no pod reports is absent:
// its user is unknown. A container the pods disagree on is absent too, and
// in the second map, with what they report, e.g. "UID 0 in pod web-1, UID
// 1000 in pod web-2" (the first pod of each user, in pod order).
func liveUsers(s *inspect.Snapshot) (map[string]user, map[string]string) {
	type report struct {
		u   user
		pod string
	}
	reports := map[string][]report{} // per container, each user once, first pod first
	for _, p := range s.Pods {
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			if cs.User == nil || cs.User.Linux == nil {
				continue
			}
			u := user{cs.User.Linux.UID, cs.User.Linux.GID}
			if !slices.ContainsFunc(reports[cs.Name], func(r report) bool { return r.u == u }) {
				reports[cs.Name] = append(reports[cs.Name], report{u, p.Name})
			}
		}
	}
	out, mixed := map[string]user{}, map[string]string{}
	for name, rs := range reports {
		if len(rs) == 1 {
			out[name] = rs[0].u
			continue
		}
		var said []string
		for _, r := range rs {
			who := fmt.Sprintf("UID %d", r.u.uid)
			if slices.ContainsFunc(rs, func(o report) bool { return o.u.uid == r.u.uid && o.u.gid != r.u.gid }) {
				who += fmt.Sprintf(" GID %d", r.u.gid)
			}
			said = append(said, who+" in pod "+r.pod)
		}
		mixed[name] = strings.Join(said, ", ")
	}
	return out, mixed
}

// identity is what the fix must set so that every container runs as
// non-root, changing no user that is already known and non-root: an
// explicit runAsUser (pod or container) is kept, and a container the
// kubelet reports running as a non-root UID keeps that UID.
type identity struct {
	// podUser and podGroup are the pod's runAsUser and runAsGroup to set,
	// fsGroup its fsGroup; 0 leaves the field as it is.
	podUser, podGroup, fsGroup int64
	// uid is the UID the containers whose user changes run as after the
	// fix: the pod's, kept or set, else DefaultUID.
	uid int64
	// containers maps a container's name to the securityContext fields it
	// needs beyond the pod's: its own reported user when containers
	// disagree, or a non-root UID where it asks for root itself.
	containers map[string]map[string]any
	// root lists the containers that run as root (UID 0) today, asked in
	// the spec or reported by the kubelet, and will run as another user.
	root []string
	// guessed lists the containers whose user is unknown (the image's
	// USER, not reported) and get podUser, a guess.
	guessed []string
	// mixed lists the containers whose pods report different users, and
	// mixedUsers what they report: whichever UID they get, some pods
	// change users.
	mixed      []string
	mixedUsers map[string]string
	// details say where each UID comes from, for the fix's description.
	details []string
}

// changed lists the containers whose user the fix changes: those running
// as root today, those whose pods disagree, and those whose user is
// unknown.
func (id identity) changed() []string { return slices.Concat(id.root, id.mixed, id.guessed) }

// decide works out the identity for the workload's pod template. uid is
// the user's --set run-as-non-root.uid (0 when not given): it becomes the
// pod's runAsUser, runAsGroup and (with volumes) fsGroup, whatever they
// were. On OpenShift the SCC assigns the pod's UID: only a container's
// own runAsUser 0 is replaced.
func decide(s *inspect.Snapshot, uid int64) identity {
	podSC := s.Workload.PodTemplate().Spec.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	id := identity{containers: map[string]map[string]any{}}
	live, mixed := liveUsers(s)
	id.mixedUsers = mixed
	podRoot := podSC.RunAsUser != nil && *podSC.RunAsUser == 0
	// inherit: the containers that take the pod's runAsUser; askRoot: those
	// whose own runAsUser is 0.
	var inherit, askRoot []string
	for _, c := range rules.Containers(s) {
		switch {
		case c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil:
			if *c.SecurityContext.RunAsUser == 0 {
				askRoot = append(askRoot, c.Name)
				id.root = append(id.root, c.Name)
			}
		case podSC.RunAsUser != nil && !podRoot: // an explicit non-root UID: kept
		default:
			inherit = append(inherit, c.Name)
			u, known := live[c.Name]
			switch {
			case podRoot || known && u.uid == 0:
				id.root = append(id.root, c.Name)
			case mixed[c.Name] != "":
				id.mixed = append(id.mixed, c.Name)
			case !known:
				id.guessed = append(id.guessed, c.Name)
			}
		}
	}
	target := int64(DefaultUID)
	switch {
	case uid > 0:
		target, id.podUser, id.podGroup, id.guessed, id.mixed = uid, uid, uid, nil, nil
		if needsFSGroup(s) {
			id.fsGroup = uid
		}
		id.details = append(id.details, fmt.Sprintf("UID %d, as given", uid))
	case s.Cluster != nil && s.Cluster.OpenShift:
		id.details = append(id.details, "the SCC assigns the UID")
	case podRoot || len(inherit) > 0:
		target = id.forPod(podSC, live, inherit, needsFSGroup(s))
	case podSC.RunAsUser != nil:
		target = *podSC.RunAsUser
	}
	if podSC.RunAsUser != nil && !podRoot && uid == 0 {
		id.details = append(id.details, fmt.Sprintf("runAsUser %d kept", *podSC.RunAsUser))
	}
	id.uid = target
	for _, name := range askRoot {
		id.containers[name] = map[string]any{"runAsUser": target}
	}
	if len(askRoot) > 0 {
		id.details = append(id.details, fmt.Sprintf("UID %d instead of root in %s", target, strings.Join(askRoot, ", ")))
	}
	return id
}

// forPod sets the pod's runAsUser, runAsGroup and fsGroup for the
// containers that inherit them: the user they all run as today when the
// kubelet reports one (its UID and GID; a GID 0 leaves runAsGroup to the
// image), else DefaultUID. Containers reporting different non-root users
// each keep theirs at container level, and the pod's DefaultUID serves
// only the others. fsGroup, when volumes need it and none is set, follows
// a UID that changes (root or unknown today). It returns the pod's UID.
func (id *identity) forPod(podSC *corev1.PodSecurityContext, live map[string]user, inherit []string, volumes bool) int64 {
	var reporting []string // inheriting containers reporting a non-root user
	for _, name := range inherit {
		if u, ok := live[name]; ok && u.uid != 0 {
			reporting = append(reporting, name)
		}
	}
	uid, gid := int64(DefaultUID), int64(DefaultUID)
	u, same := agreed(live, reporting)
	switch {
	case same:
		uid, gid = u.uid, u.gid
		id.details = append(id.details, fmt.Sprintf("UID %d, the user the containers run as today", uid))
	case len(reporting) > 0:
		for _, name := range reporting {
			id.containers[name] = map[string]any{"runAsUser": live[name].uid}
		}
		id.details = append(id.details, "each container's UID as it runs today")
		if len(reporting) == len(inherit) && podSC.RunAsUser == nil {
			for _, name := range reporting {
				if g := live[name].gid; g != 0 {
					id.containers[name]["runAsGroup"] = g
				}
			}
			return uid // nothing left for the pod's UID to serve
		}
		id.details = append(id.details, fmt.Sprintf("UID %d for %s", uid, strings.Join(id.changed(), ", ")))
	default:
		id.details = append(id.details, fmt.Sprintf("UID %d", uid))
	}
	id.podUser = uid
	if podSC.RunAsGroup == nil && gid != 0 {
		id.podGroup = gid
	}
	// A container keeping its own user keeps its own group, even 0,
	// rather than the pod's.
	for name, fields := range id.containers {
		if g := live[name].gid; g != 0 || id.podGroup != 0 {
			fields["runAsGroup"] = g
		}
	}
	if volumes && podSC.FSGroup == nil && len(id.changed()) > 0 {
		id.fsGroup = uid
	}
	return uid
}

// agreed is the user every named container reports, when there are some
// and they all report the same one.
func agreed(live map[string]user, names []string) (user, bool) {
	var first user
	for i, name := range names {
		u, ok := live[name]
		if !ok || i > 0 && u != first {
			return user{}, false
		}
		first = u
	}
	return first, len(names) > 0
}
