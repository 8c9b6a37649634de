package pss_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

// Every security fix together — runAsNonRoot, drop ALL with
// NET_BIND_SERVICE added back for port 80, and the rest — passes Pod
// Security Standards restricted as the API server's own evaluator decides
// it, keeps the explicit UID, GID and fsGroup, and keeps the port bindable.
// A container running as root passes only once run-as-non-root is named:
// before, it stays root and keeps its capabilities (a human decides), as
// its entrypoint may need them to switch user.
func TestSecurityFixesPassRestricted(t *testing.T) {
	for _, tc := range []struct {
		file                 string
		fix                  []string
		restricted, dropped  bool
		user, group, fsGroup int64
	}{
		{"testdata/restricted-explicit-uid.yaml", []string{"all"}, true, true, 1000, 3000, 2000},
		{"testdata/restricted-root.yaml", []string{"all"}, false, false, 0, 0, 0},
		{"testdata/restricted-root.yaml", []string{"all", "run-as-non-root"}, true, true, 65532, 65532, 0},
	} {
		s := rulestest.Load(t, tc.file)
		results, err := rules.Evaluate(s, rules.Selection{Fix: tc.fix})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Status == rules.StatusPlanned && r.Category == rules.Security {
				if s, err = rules.Project(s, r.Fix); err != nil {
					t.Fatal(err)
				}
			}
		}
		tpl := s.Workload.PodTemplate()
		if got := pss.Satisfies(&tpl.ObjectMeta, &tpl.Spec, api.LevelRestricted); got != tc.restricted {
			t.Errorf("%s --fix=%v: restricted %v, want %v: %+v", tc.file, tc.fix, got, tc.restricted, pss.Evaluate(s))
		}
		c := tpl.Spec.Containers[0].SecurityContext
		if !tc.dropped {
			if c != nil && c.Capabilities != nil {
				t.Errorf("%s --fix=%v: capabilities %+v on a root container, want them left to a human", tc.file, tc.fix, c.Capabilities)
			}
			continue
		}
		if c == nil || c.Capabilities == nil || !slices.Equal(c.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) ||
			!slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s: capabilities %+v, want drop ALL, add NET_BIND_SERVICE", tc.file, c)
		}
		if !tc.restricted {
			continue
		}
		sc := tpl.Spec.SecurityContext
		if *sc.RunAsUser != tc.user || *sc.RunAsGroup != tc.group || (sc.FSGroup == nil) != (tc.fsGroup == 0) || sc.FSGroup != nil && *sc.FSGroup != tc.fsGroup {
			t.Errorf("%s: runAsUser %d runAsGroup %d fsGroup %v, want %d %d %d", tc.file, *sc.RunAsUser, *sc.RunAsGroup, sc.FSGroup, tc.user, tc.group, tc.fsGroup)
		}
	}
}
