package probe

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// Port is the container port a generated probe checks, and where the
// choice comes from.
type Port struct {
	// Value is the port as the probe names it: the declared port's name
	// when it has one (it survives a renumbering), else its number.
	Value intstr.IntOrString
	// Source says why this port, e.g. "targeted by Service web (port 80 →
	// targetPort http)"; it ends up in the fix's description.
	Source string
}

// String is the port as a message shows it, e.g. "http (8080)" or "9090".
func (p Port) String() string { return p.Value.String() }

// PickPort chooses the TCP port a new probe of container c checks, in this
// order:
//  1. want, the rule's port parameter (a declared port's name or number);
//  2. the port the Services selecting the pods send traffic to: the first
//     Service port (Services in snapshot order, ports in spec order) whose
//     targetPort — a name resolved through c's ports, a number, or the
//     Service port itself when unset — is a TCP port c declares;
//  3. the only TCP port c declares.
//
// It never returns a port c does not declare. With several TCP ports and
// no Service targeting one of them, or with none, it returns a NeedsHuman
// error asking for --set RULE.port; a want c does not declare is an
// ordinary error (a bad parameter).
func PickPort(s *inspect.Snapshot, c *corev1.Container, want, rule string) (Port, error) {
	tcp := tcpPorts(c)
	if want != "" {
		return wanted(c, tcp, want, rule)
	}
	if p, ok := serviceTarget(s, c.Name, tcp); ok {
		return p, nil
	}
	switch len(tcp) {
	case 1:
		return Port{Value: ref(tcp[0]), Source: "the only TCP port container " + c.Name + " declares"}, nil
	case 0:
		return Port{}, rules.NeedsHumanf("container %s declares no TCP port to probe: give one with --set %s.port=PORT (and %s.path=/… for HTTP)", c.Name, rule, rule)
	}
	return Port{}, rules.NeedsHumanf("container %s declares %d TCP ports (%s) and no Service targets one of them: say which one serves, with --set %s.port=NAME",
		c.Name, len(tcp), list(tcp), rule)
}

// wanted resolves the port parameter against the declared TCP ports.
func wanted(c *corev1.Container, tcp []corev1.ContainerPort, want, rule string) (Port, error) {
	src := fmt.Sprintf("given by --set %s.port", rule)
	n, err := strconv.Atoi(want)
	for _, p := range tcp {
		if p.Name == want || err == nil && int(p.ContainerPort) == n {
			if err == nil {
				return Port{Value: intstr.FromInt32(p.ContainerPort), Source: src}, nil
			}
			return Port{Value: intstr.FromString(p.Name), Source: src}, nil
		}
	}
	if err == nil && (n < 1 || n > 65535) {
		return Port{}, fmt.Errorf("port %d out of range", n)
	}
	if len(tcp) == 0 {
		return Port{}, fmt.Errorf("container %s declares no TCP port %q: declare it in ports first (a probe on an undeclared port is a guess)", c.Name, want)
	}
	return Port{}, fmt.Errorf("container %s declares no TCP port %q: it declares %s", c.Name, want, list(tcp))
}

// serviceTarget finds the first Service port that sends traffic to one of
// the container's declared TCP ports.
func serviceTarget(s *inspect.Snapshot, container string, tcp []corev1.ContainerPort) (Port, bool) {
	for _, svc := range s.Services {
		for _, sp := range svc.Spec.Ports {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
				continue
			}
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port) // the API server's default
			}
			for _, p := range tcp {
				if target.Type == intstr.String && p.Name == target.StrVal || target.Type == intstr.Int && p.ContainerPort == target.IntVal {
					return Port{Value: ref(p), Source: fmt.Sprintf("targeted by Service %s, port %d → targetPort %s", svc.Name, sp.Port, target.String())}, true
				}
			}
		}
	}
	return Port{}, false
}

// tcpPorts are the ports of c a tcpSocket or httpGet probe can check.
func tcpPorts(c *corev1.Container) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, p := range c.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			out = append(out, p)
		}
	}
	return out
}

// ref names a declared port: by name when it has one.
func ref(p corev1.ContainerPort) intstr.IntOrString {
	if p.Name != "" {
		return intstr.FromString(p.Name)
	}
	return intstr.FromInt32(p.ContainerPort)
}

// list shows ports as "metrics 9090, http 8080".
func list(ports []corev1.ContainerPort) string {
	var out []string
	for _, p := range ports {
		if p.Name != "" {
			out = append(out, fmt.Sprintf("%s %d", p.Name, p.ContainerPort))
		} else {
			out = append(out, strconv.Itoa(int(p.ContainerPort)))
		}
	}
	return strings.Join(out, ", ")
}
