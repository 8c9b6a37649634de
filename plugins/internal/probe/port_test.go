package probe

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

func svc(name string, ports ...corev1.ServicePort) corev1.Service {
	s := corev1.Service{Spec: corev1.ServiceSpec{Ports: ports}}
	s.Name = name
	return s
}

func TestPickPort(t *testing.T) {
	metrics := corev1.ContainerPort{Name: "metrics", ContainerPort: 9090}
	http := corev1.ContainerPort{Name: "http", ContainerPort: 8080}
	dns := corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}
	for _, tc := range []struct {
		name     string
		ports    []corev1.ContainerPort
		services []corev1.Service
		want     string // the port's value, or the error
		source   string
		human    bool
	}{
		{name: "named targetPort", ports: []corev1.ContainerPort{metrics, http},
			services: []corev1.Service{svc("web", corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")})},
			want:     "http", source: "targeted by Service web, port 80 → targetPort http"},
		{name: "numeric targetPort of a named port", ports: []corev1.ContainerPort{metrics, http},
			services: []corev1.Service{svc("web", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)})},
			want:     "http"},
		{name: "unset targetPort is the Service port", ports: []corev1.ContainerPort{metrics, http},
			services: []corev1.Service{svc("web", corev1.ServicePort{Port: 8080})},
			want:     "http", source: "targeted by Service web, port 8080 → targetPort 8080"},
		{name: "a later Service when the first targets nothing of ours", ports: []corev1.ContainerPort{metrics, http},
			services: []corev1.Service{svc("admin", corev1.ServicePort{Port: 9901, TargetPort: intstr.FromString("admin")}),
				svc("web", corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")})},
			want: "http", source: "targeted by Service web, port 80 → targetPort http"},
		{name: "a UDP Service port is passed over", ports: []corev1.ContainerPort{metrics, http},
			services: []corev1.Service{svc("web", corev1.ServicePort{Port: 9090, Protocol: corev1.ProtocolUDP}, corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")})},
			want:     "http"},
		{name: "the only TCP port", ports: []corev1.ContainerPort{dns, {ContainerPort: 8080}},
			want: "8080", source: "the only TCP port container c declares"},
		{name: "several ports, the Service targets another container", ports: []corev1.ContainerPort{metrics, http},
			services: []corev1.Service{svc("web", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(10000)})},
			want:     "container c declares 2 TCP ports (metrics 9090, http 8080) and no Service targets one of them: say which one serves, with --set r.port=NAME", human: true},
		{name: "no TCP port", ports: []corev1.ContainerPort{dns},
			want: "container c declares no TCP port to probe: give one with --set r.port=PORT (and r.path=/… for HTTP)", human: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &inspect.Snapshot{Services: tc.services}
			p, err := PickPort(s, &corev1.Container{Name: "c", Ports: tc.ports}, "", "r")
			var human *rules.NeedsHumanError
			switch {
			case tc.human:
				if !errors.As(err, &human) || err.Error() != tc.want {
					t.Errorf("got %v, %v; want needs-human %q", p, err, tc.want)
				}
			case err != nil || p.String() != tc.want || tc.source != "" && p.Source != tc.source:
				t.Errorf("got %q (%s), %v; want %q (%s)", p, p.Source, err, tc.want, tc.source)
			}
		})
	}
}

// The port parameter must name a declared TCP port, by name or number.
func TestPickPortParameter(t *testing.T) {
	c := &corev1.Container{Name: "c", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}, {Name: "http", ContainerPort: 8080}}}
	s := &inspect.Snapshot{}
	for want, res := range map[string]string{
		"http":    "http",
		"8080":    "8080",
		"8081":    `container c declares no TCP port "8081": it declares metrics 9090, http 8080`,
		"70000":   "port 70000 out of range",
		"grpc":    `container c declares no TCP port "grpc": it declares metrics 9090, http 8080`,
		"metrics": "metrics",
	} {
		p, err := PickPort(s, c, want, "r")
		got := p.String()
		if err != nil {
			got = err.Error()
		}
		if got != res {
			t.Errorf("port=%s: %q, want %q", want, got, res)
		}
	}
}
