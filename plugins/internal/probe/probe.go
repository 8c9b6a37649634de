// Package probe holds what the readiness, liveness and startup probe rules
// share: which port to probe, and building a probe from parameters. It
// never invents an HTTP path or an exec command.
package probe

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
)

// Kinds that run long-lived pods worth probing.
var Kinds = []string{"Deployment", "StatefulSet", "DaemonSet"}

// Params every probe rule takes.
var Params = []rules.Param{
	{Name: "port", Description: "container port to probe, by name or number; default the first named declared port"},
	{Name: "path", Description: "HTTP path: makes it an httpGet probe (never guessed); default a tcpSocket probe"},
}

// Handler builds the probe handler for a container: httpGet when the user
// gave a path, tcpSocket otherwise, on a declared port (named preferred).
func Handler(c *corev1.Container, p rules.Params, rule string) (corev1.ProbeHandler, error) {
	port, err := pickPort(c, p["port"], rule)
	if err != nil {
		return corev1.ProbeHandler{}, err
	}
	if path := p["path"]; path != "" {
		if path[0] != '/' {
			return corev1.ProbeHandler{}, fmt.Errorf("path must start with /, got %q", path)
		}
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}}, nil
	}
	return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}}, nil
}

func pickPort(c *corev1.Container, want, rule string) (intstr.IntOrString, error) {
	if want != "" {
		if n, err := strconv.Atoi(want); err == nil {
			if n < 1 || n > 65535 {
				return intstr.IntOrString{}, fmt.Errorf("port %d out of range", n)
			}
			return intstr.FromInt32(int32(n)), nil
		}
		for _, p := range c.Ports {
			if p.Name == want {
				return intstr.FromString(want), nil
			}
		}
		return intstr.IntOrString{}, fmt.Errorf("container %s declares no port named %q", c.Name, want)
	}
	for _, p := range c.Ports {
		if p.Name != "" && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			return intstr.FromString(p.Name), nil
		}
	}
	for _, p := range c.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			return intstr.FromInt32(p.ContainerPort), nil
		}
	}
	return intstr.IntOrString{}, rules.Human("container %s declares no TCP port to probe: give one with --set %s.port=PORT (and %s.path=/… for HTTP)", c.Name, rule, rule)
}

// Container returns the named container of the pod template.
func Container(s *inspect.Snapshot, name string) (*corev1.Container, error) {
	cs := s.Workload.PodTemplate().Spec.Containers
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i], nil
		}
	}
	return nil, fmt.Errorf("no container %q", name)
}

// Change returns a change setting one field of one container.
func Change(s *inspect.Snapshot, container, field string, value any) rules.Change {
	obj := rules.WorkloadChange(s.Workload)
	rules.Set(obj, rules.ContainerChange(container, map[string]any{field: value}), rules.PodSpecPath(s.Workload)...)
	return rules.Change{Object: obj}
}

// Served reports whether a Service sends traffic to the pods.
func Served(s *inspect.Snapshot) bool { return len(s.Services) > 0 }

// Budget is how long a probe tolerates failure before acting.
func Budget(p *corev1.Probe) int32 {
	period, failures := p.PeriodSeconds, p.FailureThreshold
	if period == 0 {
		period = 10
	}
	if failures == 0 {
		failures = 3
	}
	return p.InitialDelaySeconds + period*failures
}
