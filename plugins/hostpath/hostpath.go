// Package hostpath reports hostPath volumes; container runtime sockets are
// critical.
package hostpath

import (
	"fmt"
	"strings"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the host-path rule.
type Rule struct{}

const id = "host-path"

// sockets are runtime sockets: mounting one is root on the node.
var sockets = []string{"docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "/var/run/docker", "/run/containerd"}

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "No hostPath volumes", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "A hostPath volume gives the pod the node's own files: writable, it can plant binaries or read " +
			"other pods' secrets; a container runtime socket (docker.sock, containerd.sock) lets it start " +
			"privileged containers — root on the node. Pod Security Standards baseline forbids hostPath.",
		Remediation: "Use emptyDir, a PersistentVolumeClaim, a ConfigMap or a CSI volume instead. Never mount " +
			"the runtime socket; build images with a rootless builder instead.",
		OptOuts: []rules.OptOut{{Annotation: "polaris.fairwinds.com/hostPathSet-exempt"}, {Annotation: "ignore-check.kube-linter.io/writable-host-mount"},
			{Annotation: "ignore-check.kube-linter.io/docker-sock"}},
	}
}

// Check reports hostPath volumes; a runtime socket is critical.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	if len(pss.Find(s, "hostPathVolumes")) == 0 {
		return nil
	}
	var out []rules.Finding
	for _, v := range s.Workload.PodTemplate().Spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		f := rules.Finding{Field: "volumes",
			Message:    fmt.Sprintf("volume %s mounts the node's %s", v.Name, v.HostPath.Path),
			NeedsHuman: "replace the hostPath volume " + v.Name + " with emptyDir, a PersistentVolumeClaim or a CSI volume"}
		for _, sock := range sockets {
			if strings.Contains(v.HostPath.Path, sock) {
				f.Severity = rules.Critical
				f.Message = fmt.Sprintf("volume %s mounts the container runtime socket %s: whoever controls the pod controls the node", v.Name, v.HostPath.Path)
			}
		}
		out = append(out, f)
	}
	return out
}

// Fix never changes anything: what the volume is for is the owner's call.
func (Rule) Fix(*inspect.Snapshot, rules.Finding, rules.Params) (*rules.Fix, error) {
	return nil, rules.NeedsHumanf("replace the hostPath volume by hand")
}
