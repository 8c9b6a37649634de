// Package probe holds what the readiness, liveness and startup probe rules
// share: which port to probe, and building a probe from parameters. It
// never invents an HTTP path or an exec command.
package probe

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Kinds that run long-lived pods worth probing.
var Kinds = inspect.KindsIn(inspect.RolledOut)

// Params every probe rule takes.
var Params = []rules.Param{
	{Name: "port", Description: "container port to probe, by name or number, among those the container declares; default the port a Service targets, else the only declared TCP port"},
	{Name: "path", Description: "HTTP path: makes it an httpGet probe (never guessed); default a tcpSocket probe"},
}

// Handler builds the probe handler for a new probe of container c:
// httpGet when the user gave a path, tcpSocket otherwise, on the port
// PickPort chooses. It also says what it built and why that port, e.g.
// "tcpSocket on port http (targeted by Service web, port 80 → targetPort
// http)". Errors: a bad path or port parameter; NeedsHuman when no port
// can be chosen safely.
func Handler(s *inspect.Snapshot, c *corev1.Container, p rules.Params, rule string) (corev1.ProbeHandler, string, error) {
	port, err := PickPort(s, c, p["port"], rule)
	if err != nil {
		return corev1.ProbeHandler{}, "", err
	}
	if path := p["path"]; path != "" {
		if path[0] != '/' {
			return corev1.ProbeHandler{}, "", fmt.Errorf("path must start with /, got %q", path)
		}
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port.Value}},
			fmt.Sprintf("httpGet %s on port %s (%s)", path, port, port.Source), nil
	}
	return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port.Value}},
		fmt.Sprintf("tcpSocket on port %s (%s)", port, port.Source), nil
}

// Container returns the named regular container of the pod template
// (probes are checked on those only).
func Container(s *inspect.Snapshot, name string) (rules.Container, error) {
	return rules.ContainerNamed(s, name, rules.RegularContainers)
}

// Served reports whether a Service sends traffic to the pods.
func Served(s *inspect.Snapshot) bool { return len(s.Services) > 0 }
