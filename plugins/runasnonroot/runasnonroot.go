// Package runasnonroot requires containers to run as a non-root user,
// with the UID the containers really run as when the kubelet reports it.
package runasnonroot

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
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
		Remediation: "Set runAsNonRoot: true with an explicit runAsUser/runAsGroup (and fsGroup for volumes). " +
			"harden keeps the UID the containers already run as when the kubelet reports it, else uses " +
			"65532; an image that only works as root then fails to start, and the rollout watch rolls back. " +
			"On OpenShift the SCC assigns the UID, so only runAsNonRoot is set.",
		Fixable: true,
		Params:  []rules.Param{{Name: "uid", Description: "runAsUser/runAsGroup/fsGroup to set; default the UID the containers run as, else 65532"}},
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/runAsRootAllowed-exempt"}, {Annotation: "ignore-check.kube-linter.io/run-as-non-root"},
			{Annotation: "kube-score/ignore", Value: "container-security-context-user-group-id"}},
	}
}

// Check reports the violations as Pod Security Standards word them, with
// the UID the containers run as today when known.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var msgs []string
	for _, v := range pss.Find(s, "runAsNonRoot", "runAsUser") {
		msgs = append(msgs, v.Message())
	}
	if len(msgs) == 0 {
		return nil
	}
	msg := "Pod Security Standards (restricted): " + strings.Join(msgs, "; ")
	if uid, known := liveUID(s); known {
		msg += fmt.Sprintf("; the containers run as UID %d today", uid)
	}
	return []rules.Finding{{Rule: id, Severity: rules.High, Category: rules.Security, Message: msg, Field: "securityContext.runAsNonRoot"}}
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

// Fix sets the pod's securityContext; containers that ask for root
// themselves get an override.
func (Rule) Fix(s *inspect.Snapshot, _ rules.Finding, p rules.Params) (*rules.Fix, error) {
	uid, known := liveUID(s)
	var warnings []string
	switch {
	case p["uid"] != "":
		n, err := strconv.ParseInt(p["uid"], 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("uid must be a number above 0, got %q", p["uid"])
		}
		uid = n
	case known && uid == 0:
		uid = DefaultUID
		warnings = append(warnings, fmt.Sprintf("the containers run as root (UID 0) today: as UID %d the app may fail to start; the rollout watch rolls back if it does", DefaultUID))
	case !known:
		uid = DefaultUID
		warnings = append(warnings, fmt.Sprintf("the image's user is unknown: UID %d is a guess; an image that needs root fails to start and the rollout watch rolls back", DefaultUID))
	}
	podSC := map[string]any{"runAsNonRoot": true}
	if !s.Cluster.OpenShift {
		podSC["runAsUser"], podSC["runAsGroup"] = uid, uid
		if needsFSGroup(s) {
			podSC["fsGroup"] = uid
		}
	}
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, podSC, append(rules.PodSpecPath(s.Workload), "securityContext")...)
	fix := &rules.Fix{Description: fmt.Sprintf("run as non-root (UID %d)", uid), Changes: []rules.Change{{Object: obj}}, Warnings: warnings}
	// Containers that ask for root themselves override the pod.
	if change, _, ok := pss.SecurityContextChange(s, func(c pss.Container) map[string]any {
		sc := c.SecurityContext
		if sc == nil {
			return nil
		}
		f := map[string]any{}
		if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			f["runAsNonRoot"] = true
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			f["runAsUser"] = uid
		}
		if len(f) == 0 {
			return nil
		}
		return f
	}); ok {
		fix.Changes[0].Object = rules.Merge(fix.Changes[0].Object, change.Object)
	}
	return fix, nil
}

// needsFSGroup: volumes whose files must be writable by the new user.
func needsFSGroup(s *inspect.Snapshot) bool {
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return s.Workload.StatefulSet != nil && len(s.Workload.StatefulSet.Spec.VolumeClaimTemplates) > 0
}
