package pss

import (
	"slices"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// UnprivilegedPortStart is the first port a process without
// CAP_NET_BIND_SERVICE may bind: the Linux default of the sysctl
// net.ipv4.ip_unprivileged_port_start.
const UnprivilegedPortStart = 1024

// LowPorts maps the names of the pod template's containers to the ports
// below UnprivilegedPortStart they listen on, ascending: the
// containerPorts each declares (any protocol), and the numeric
// targetPorts (the port itself when a Service gives none) of the Services
// selecting the pods that no container declares — those go to every
// regular container, since any of them may be the one listening. A named
// targetPort is a declared containerPort, already counted. Containers
// without such a port are absent.
func LowPorts(s *inspect.Snapshot) map[string][]int32 {
	out := map[string][]int32{}
	add := func(name string, port int32) {
		if port > 0 && port < UnprivilegedPortStart && !slices.Contains(out[name], port) {
			out[name] = append(out[name], port)
			slices.Sort(out[name])
		}
	}
	declared := map[int32]bool{}
	for _, c := range rules.Containers(s) {
		for _, p := range c.Ports {
			add(c.Name, p.ContainerPort)
			declared[p.ContainerPort] = true
		}
	}
	for _, svc := range s.Services {
		for _, sp := range svc.Spec.Ports {
			target := sp.TargetPort.IntVal
			switch {
			case sp.TargetPort.StrVal != "":
				continue
			case target == 0:
				target = sp.Port
			}
			if declared[target] {
				continue
			}
			for _, c := range rules.Containers(s, rules.RegularContainers) {
				add(c.Name, target)
			}
		}
	}
	return out
}
