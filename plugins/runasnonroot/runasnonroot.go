// Package runasnonroot requires containers to run as a non-root user,
// with the UID the containers really run as when the kubelet reports it.
package runasnonroot

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the run-as-non-root rule.
type Rule struct{}

const id = "run-as-non-root"

// DefaultUID is the conventional unprivileged user of distroless and
// Chainguard images ("nonroot").
const DefaultUID = 65532

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Run as non-root", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "A process running as root in a container is root on the node's kernel: one escape or one " +
			"writable host mount away from owning the node. Pod Security Standards restricted requires " +
			"runAsNonRoot and a non-zero runAsUser.",
		Remediation: "Set runAsNonRoot: true, and a UID only where none is known: an explicit non-root " +
			"runAsUser/runAsGroup/fsGroup (pod or container) is kept as it is, a container the kubelet reports " +
			"running as a non-root UID (status.containerStatuses[].user) keeps that UID and GID, and the others get " +
			"65532 (with fsGroup when a volume's files must follow the new user: the kubelet then changes the group, not the " +
			"owner, of every file on the volume, which no rollback undoes); an image that only works as root then fails to " +
			"start, and the rollout watch rolls back. A guess is not made where it breaks the app later: when the user is " +
			"unknown and the image is a data store (postgres, redis, mysql…: its files belong to its own user, 999 for most " +
			"official images), an image that starts as root and switches user itself (nginx, httpd, php *apache*), or the pod " +
			"mounts a persistent volume (its files belong to the image's user), the fix is planned only when named, with the " +
			"UID to give (--set run-as-non-root.uid=N) or the unprivileged image to use (nginxinc/nginx-unprivileged). Containers running as root today (runAsUser 0, or " +
			"UID 0 reported) may also lose access to files root owns, which no rollout shows: that fix is planned " +
			"only when the rule is named (--fix=run-as-non-root), never by --fix=all or --fix=security. " +
			"On OpenShift the SCC assigns the UID, so only runAsNonRoot is set.",
		Fixable: true,
		Params:  []rules.Param{{Name: "uid", Description: "runAsUser/runAsGroup/fsGroup to set, replacing explicit ones; default: kept when explicit and non-root, else the UID the containers run as, else 65532"}},
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/runAsRootAllowed-exempt"}, {Annotation: "ignore-check.kube-linter.io/run-as-non-root"},
			{Annotation: "kube-score/ignore", Value: "container-security-context-user-group-id"}},
	}
}

// Check reports the violations as Pod Security Standards word them, with
// the UID the containers run as today when known. When some containers
// run as root today (their runAsUser is 0, or the kubelet reports UID 0),
// or their user is unknown and a guessed UID would break a data store, a
// root-starting image or a persistent volume's files (guessRisks),
// running them as another user may break them: the finding is opt-in
// (rules.Finding.OptIn), fixed only when the rule is named. The message
// says what is wrong (the Pod Security Standards check, the live UID when
// it is not root); the OptIn reason, shown after it when not applied, says
// what was seen that makes the fix risky — each fact once in the report.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var msgs []string
	for _, v := range pss.Find(s, "runAsNonRoot", "runAsUser") {
		msgs = append(msgs, v.Message())
	}
	if len(msgs) == 0 {
		return nil
	}
	msg := "Pod Security Standards (restricted): " + strings.Join(msgs, "; ")
	if uid, known := liveUID(s); known && uid != 0 {
		msg += fmt.Sprintf("; the containers run as UID %d today", uid)
	}
	f := rules.Finding{Message: msg, Field: "securityContext.runAsNonRoot"}
	who := decide(s, 0)
	if len(who.root) > 0 {
		f.OptIn = rootRisk(who.root)
	}
	for _, name := range who.mixed {
		if f.OptIn != "" {
			f.OptIn += "; "
		}
		f.OptIn += mixedRisk(name, who.mixedUsers[name], "another user")
	}
	for _, r := range guessRisks(s, who) {
		if f.OptIn != "" {
			f.OptIn += "; "
		}
		f.OptIn += r.why
	}
	return []rules.Finding{f}
}

// mixedRisk is why moving a container its pods report different users for
// to another user (e.g. "UID 65532") is a choice to make knowingly.
func mixedRisk(container, users, to string) string {
	return fmt.Sprintf("the pods report different users for container %s (%s): as %s it may fail to start, or start and then "+
		"fail to read or write files its user owned (the rollout watch only catches a failed start)", container, users, to)
}

// rootToday says which containers run as root, e.g. "container web runs
// as root (UID 0) today".
func rootToday(names []string) string {
	if len(names) == 1 {
		return "container " + names[0] + " runs as root (UID 0) today"
	}
	return "containers " + strings.Join(names, ", ") + " run as root (UID 0) today"
}

// rootRisk is why a fix of root containers is a choice to make knowingly.
func rootRisk(names []string) string {
	return rootToday(names) + ": as another user the app may fail to start, or start and then fail to read or write " +
		"files root owns (the rollout watch only catches a failed start)"
}

// liveUID is the UID every running container reports (containerStatuses
// user, from recent kubelets), when they all agree.
func liveUID(s *inspect.Snapshot) (int64, bool) {
	uid, known := int64(-1), false
	for _, p := range s.Pods {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.User == nil || cs.User.Linux == nil {
				continue
			}
			if known && cs.User.Linux.UID != uid {
				return 0, false
			}
			uid, known = cs.User.Linux.UID, true
		}
	}
	return uid, known
}

// Fix sets runAsNonRoot on the pod and, only where a container's user is
// not already a known non-root one, a UID (see decide): an explicit
// runAsUser/runAsGroup/fsGroup stays, a UID the kubelet reports is kept,
// DefaultUID is the guess for the rest. Containers that ask for root
// themselves get an override.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, p rules.Params) (*rules.Fix, error) {
	var uid int64
	if v := p["uid"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("uid must be a number above 0, got %q", v)
		}
		uid = n
	}
	who := decide(s, uid)
	podSC := map[string]any{"runAsNonRoot": true}
	for field, v := range map[string]int64{"runAsUser": who.podUser, "runAsGroup": who.podGroup, "fsGroup": who.fsGroup} {
		if v > 0 {
			podSC[field] = v
		}
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, podSC, append(rules.PodSpecPath(s.Workload), "securityContext")...)
	fix := &rules.Fix{Description: description(who), Changes: []rules.Change{{Object: obj}}, Warnings: warnings(s, who)}
	if who.fsGroup > 0 {
		fix.Warnings = append(fix.Warnings, fsGroupWarning(s, who.fsGroup))
	}
	// Containers that ask for root themselves, or keep their own user,
	// override the pod.
	if change, _, ok := pss.SecurityContextChange(s, func(c rules.Container) map[string]any {
		f := who.containers[c.Name]
		if sc := c.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			f = maps.Clone(f)
			if f == nil {
				f = map[string]any{}
			}
			f["runAsNonRoot"] = true
		}
		return f
	}); ok {
		fix.Changes[0].Object = rules.Merge(fix.Changes[0].Object, change.Object)
	}
	return fix, nil
}

// description says where each UID comes from, e.g. "run as non-root (UID
// 101, the user the containers run as today)". With no UID to set (every
// container has its own non-root runAsUser) only runAsNonRoot is added.
func description(who identity) string {
	if len(who.details) == 0 {
		return "run as non-root (runAsNonRoot only: each container's runAsUser kept)"
	}
	return "run as non-root (" + strings.Join(who.details, "; ") + ")"
}

// warnings say what may break: root containers moved to another user, a
// guessed UID, and ports below 1024 a new non-root user must bind.
func warnings(s *inspect.Snapshot, who identity) []string {
	var out []string
	uid := who.uid
	if uid == 0 {
		uid = DefaultUID
	}
	if len(who.root) > 0 {
		out = append(out, rootRisk(who.root)+fmt.Sprintf("; check the image runs as UID %d, or give the UID it needs with --set %s.uid=N", uid, id))
	}
	for _, name := range who.mixed {
		out = append(out, mixedRisk(name, who.mixedUsers[name], fmt.Sprintf("UID %d", uid))+
			fmt.Sprintf("; give the UID it needs with --set %s.uid=N", id))
	}
	if len(who.guessed) > 0 {
		out = append(out, fmt.Sprintf("the image's user is unknown (the kubelet reports none): UID %d is a guess; an image that needs root fails to start and the rollout watch rolls back", uid))
	}
	low := pss.LowPorts(s)
	for _, c := range rules.Containers(s) {
		ports := low[c.Name]
		if len(ports) == 0 || !slices.Contains(who.changed(), c.Name) {
			continue
		}
		if dropsAllWithoutBind(c) {
			// The capabilities fix has nothing to do here: it adds nothing.
			out = append(out, fmt.Sprintf("container %s binds port %d < %d and drops ALL capabilities without adding NET_BIND_SERVICE: "+
				"it binds the port today only if the pod's net.ipv4.ip_unprivileged_port_start lets every user do so, and as a non-root "+
				"user it needs that too; else add NET_BIND_SERVICE granted by the image's file capabilities, or use an image built to "+
				"listen on a high port (nginxinc/nginx-unprivileged: 8080)", c.Name, ports[0], pss.UnprivilegedPortStart))
			continue
		}
		out = append(out, fmt.Sprintf("container %s binds port %d < %d: as a non-root user it needs NET_BIND_SERVICE (the capabilities fix adds it) "+
			"granted by the image's file capabilities, else an image built to listen on a high port (nginxinc/nginx-unprivileged: 8080)",
			c.Name, ports[0], pss.UnprivilegedPortStart))
	}
	return out
}

// dropsAllWithoutBind reports whether a container drops ALL capabilities
// and does not add NET_BIND_SERVICE back: the capabilities rule then has
// no finding, and adds nothing.
func dropsAllWithoutBind(c rules.Container) bool {
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return false
	}
	all := slices.ContainsFunc(sc.Capabilities.Drop, func(d corev1.Capability) bool { return strings.EqualFold(string(d), "ALL") })
	bind := slices.ContainsFunc(sc.Capabilities.Add, func(a corev1.Capability) bool {
		return strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_") == "NET_BIND_SERVICE"
	})
	return all && !bind
}

// needsFSGroup: volumes whose files must be reachable by a new user.
func needsFSGroup(s *inspect.Snapshot) bool {
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return s.Workload.StatefulSet != nil && len(s.Workload.StatefulSet.Spec.VolumeClaimTemplates) > 0
}
