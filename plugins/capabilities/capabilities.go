// Package capabilities requires containers to drop every Linux capability
// and reports the ones they add.
package capabilities

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the capabilities rule.
type Rule struct{}

const id = "capabilities"

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Drop all capabilities", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "Containers start with a default set of Linux capabilities (NET_RAW, CHOWN, SETUID…) that most " +
			"apps never use and attackers do; added ones such as NET_ADMIN or SYS_ADMIN reach into the node. " +
			"Pod Security Standards restricted requires dropping ALL and adding back at most NET_BIND_SERVICE.",
		Remediation: "Set securityContext.capabilities.drop: [ALL] on every container. A container listening on a port " +
			"below 1024 (a declared containerPort, or a Service's targetPort) keeps NET_BIND_SERVICE in capabilities.add: " +
			"without it the process cannot bind the port; as a non-root user it also needs the image to grant it (file " +
			"capabilities), else an image built to run unprivileged on a high port. Capabilities a container " +
			"adds are reported for a human: only the app's owner knows which one it really needs. A container that still runs " +
			"as root after the plan (runAsNonRoot not set and runAsUser 0 or unset, unless the kubelet reports a non-root UID) " +
			"is left for a human: its entrypoint may need SETUID, SETGID or CHOWN to switch user (the official nginx, redis and " +
			"postgres images do), so drop ALL once it runs non-root (--fix=run-as-non-root).",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/dangerousCapabilities-exempt"}, {Annotation: "polaris.fairwinds.com/insecureCapabilities-exempt"}},
		// After run-as-non-root (0): whether a container stays root is read
		// from the spec that fix projects.
		FixOrder:     1,
		FixableAfter: []string{"run-as-non-root"},
	}
}

// Check reports containers that do not drop ALL (fixable) and those that
// add capabilities beyond NET_BIND_SERVICE (for a human).
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	if v := pss.Find(s, "capabilities_restricted"); len(v) > 0 && len(undropped(s)) > 0 {
		msg := fmt.Sprintf("containers %s keep the default capabilities: drop ALL", strings.Join(undropped(s), ", "))
		low := pss.LowPorts(s)
		for _, c := range rules.Containers(s) {
			if _, needed := withBindService(c, low[c.Name]); needed && slices.Contains(undropped(s), c.Name) {
				msg += fmt.Sprintf("; %s keeps NET_BIND_SERVICE (%s)", c.Name, bindReason(low[c.Name]))
			}
		}
		out = append(out, rules.Finding{Field: "securityContext.capabilities.drop", Message: msg})
	}
	for _, c := range rules.Containers(s) {
		var added []string
		if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
			for _, a := range sc.Capabilities.Add {
				if name := strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_"); name != "NET_BIND_SERVICE" {
					added = append(added, name)
				}
			}
		}
		if len(added) > 0 {
			out = append(out, rules.Finding{Container: c.Name, Field: "securityContext.capabilities.add",
				Message:    fmt.Sprintf("container %s adds %s", c.Name, strings.Join(added, ", ")),
				NeedsHuman: "remove the capabilities the app does not need from securityContext.capabilities.add (only NET_BIND_SERVICE passes restricted)"})
		}
	}
	return out
}

// undropped lists the containers that do not drop ALL.
func undropped(s *inspect.Snapshot) []string {
	var names []string
	for _, c := range rules.Containers(s) {
		dropsAll := false
		if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
			for _, d := range sc.Capabilities.Drop {
				dropsAll = dropsAll || strings.EqualFold(string(d), "ALL")
			}
		}
		if !dropsAll {
			names = append(names, c.Name)
		}
	}
	return names
}

// Fix sets drop: [ALL] where it is missing. A container listening on a
// port below 1024 (pss.LowPorts: declared, or a Service's numeric
// targetPort) also gets add: [NET_BIND_SERVICE] — the one capability Pod
// Security Standards restricted allows back — after the ones it already
// adds (capabilities.add is an atomic list: setting it replaces it whole).
// The warning says when that capability is not enough: a non-root process
// only holds it if the image grants it.
//
// A container that still runs as root in s (the snapshot with the fixes
// before this one projected, run-as-non-root's among them) makes the fix a
// NeedsHumanError: dropping ALL takes from a root entrypoint the
// SETUID/SETGID/CHOWN it needs to switch user, and it fails to start.
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, _ rules.Params) (*rules.Fix, error) {
	todo := undropped(s)
	if root := staysRoot(s, todo); len(root) > 0 {
		what := "container " + root[0] + " runs"
		if len(root) > 1 {
			what = "containers " + strings.Join(root, ", ") + " run"
		}
		return nil, rules.NeedsHumanf("%s as root: its entrypoint may need SETUID/SETGID/CHOWN to switch user (nginx, redis and postgres "+
			"images do); drop ALL once it runs non-root (--fix=run-as-non-root), or drop ALL and add back what it needs", what)
	}
	low := pss.LowPorts(s)
	var kept []string
	change, names, ok := pss.SecurityContextChange(s, func(c rules.Container) map[string]any {
		if !slices.Contains(todo, c.Name) {
			return nil
		}
		caps := map[string]any{"drop": []any{"ALL"}}
		if add, needed := withBindService(c, low[c.Name]); needed {
			caps["add"] = add
			kept = append(kept, c.Name)
		}
		return map[string]any{"capabilities": caps}
	})
	if !ok {
		return nil, nil
	}
	fix := &rules.Fix{Description: "drop ALL capabilities in " + strings.Join(names, ", "), Changes: []rules.Change{change}}
	for _, name := range kept {
		port := low[name][0]
		fix.Description += fmt.Sprintf("; add NET_BIND_SERVICE to %s: %s", name, bindReason(low[name]))
		fix.Warnings = append(fix.Warnings, fmt.Sprintf("container %s binds port %d: NET_BIND_SERVICE reaches a non-root process only when "+
			"the image grants it (file capabilities: setcap cap_net_bind_service=+ep on the binary) — Kubernetes sets no ambient "+
			"capabilities. Images that bind as root and then switch user (the official nginx and httpd images) fail under "+
			"runAsNonRoot: use one built to run unprivileged (nginxinc/nginx-unprivileged listens on 8080: point the Service's "+
			"targetPort there) or set the pod sysctl net.ipv4.ip_unprivileged_port_start=%d (allowed by Pod Security Standards; "+
			"not with hostNetwork)",
			name, port, port))
	}
	return fix, nil
}

// withBindService is the container's capabilities.add list with
// NET_BIND_SERVICE after the ones it has, and whether it must be set: the
// container listens below 1024 and does not add it yet.
func withBindService(c rules.Container, ports []int32) ([]any, bool) {
	if len(ports) == 0 {
		return nil, false
	}
	var add []any
	if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
		for _, a := range sc.Capabilities.Add {
			if strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_") == "NET_BIND_SERVICE" {
				return nil, false
			}
			add = append(add, string(a))
		}
	}
	return append(add, "NET_BIND_SERVICE"), true
}

// bindReason says why a container keeps NET_BIND_SERVICE, e.g. "port 80
// < 1024: a non-root process needs NET_BIND_SERVICE to bind it".
func bindReason(ports []int32) string {
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprint(p))
	}
	what := "port " + ps[0]
	if len(ps) > 1 {
		what = "ports " + strings.Join(ps, ", ")
	}
	return fmt.Sprintf("%s < %d: a non-root process needs NET_BIND_SERVICE to bind it", what, pss.UnprivilegedPortStart)
}

// staysRoot lists the named containers that run as root in the snapshot's
// spec: runAsNonRoot is not true (container, else pod) and runAsUser
// (container, else pod) is 0, or unset while no pod reports the container
// running as a non-root UID (containerStatuses[].user; an image whose USER
// is non-root is reported so by recent kubelets).
func staysRoot(s *inspect.Snapshot, names []string) []string {
	podSC := s.Workload.PodTemplate().Spec.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	var out []string
	for _, c := range rules.Containers(s) {
		if !slices.Contains(names, c.Name) {
			continue
		}
		nonRoot, uid := podSC.RunAsNonRoot, podSC.RunAsUser
		if sc := c.SecurityContext; sc != nil {
			if sc.RunAsNonRoot != nil {
				nonRoot = sc.RunAsNonRoot
			}
			if sc.RunAsUser != nil {
				uid = sc.RunAsUser
			}
		}
		switch {
		case nonRoot != nil && *nonRoot:
		case uid != nil:
			if *uid == 0 {
				out = append(out, c.Name)
			}
		case !reportsNonRoot(s, c.Name):
			out = append(out, c.Name)
		}
	}
	return out
}

// reportsNonRoot reports whether some pod reports the container running
// as a non-root UID and none reports it as root.
func reportsNonRoot(s *inspect.Snapshot, name string) bool {
	seen := false
	for _, p := range s.Pods {
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			if cs.Name != name || cs.User == nil || cs.User.Linux == nil {
				continue
			}
			if cs.User.Linux.UID == 0 {
				return false
			}
			seen = true
		}
	}
	return seen
}
