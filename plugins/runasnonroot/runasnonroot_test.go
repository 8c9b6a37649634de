package runasnonroot

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules"
	"github.com/kubectl-harden/kubectl-harden/pkg/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "unknown user, a container asking for root, a volume", Failure: "testdata/failure-unknown-user.yaml", Fixed: "testdata/fixed-unknown-user.yaml",
			Findings: []string{`runAsNonRoot != true (pod or containers "web", "helper" must set securityContext.runAsNonRoot=true); runAsUser=0 (container "helper" must not set runAsUser=0)`}},
		{Name: "keeps the UID the kubelet reports", Failure: "testdata/failure-live-uid.yaml", Fixed: "testdata/fixed-live-uid.yaml",
			Findings: []string{"the containers run as UID 101 today"}},
		{Name: "uid parameter", Failure: "testdata/failure-live-uid.yaml", Fixed: "testdata/fixed-uid-param.yaml",
			Findings: []string{"runAsNonRoot != true"}, Params: rules.Params{"uid": "2000"}},
		{Name: "non-root passes", Failure: "testdata/pass.yaml"},
	})
}

// Root today: the fix says the app may fail; on OpenShift the SCC picks the UID.
func TestWarningsAndOpenShift(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-root-today.yaml")
	fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil || len(fix.Warnings) != 1 || !strings.Contains(fix.Warnings[0], "run as root (UID 0) today") {
		t.Errorf("root today: %v %+v", err, fix)
	}
	s.Cluster = &inspect.Cluster{OpenShift: true}
	fix, err = Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil || strings.Contains(rulestest.YAML(fix.Changes[0].Object), "runAsUser") {
		t.Errorf("OpenShift must leave runAsUser to the SCC: %v\n%s", err, rulestest.YAML(fix.Changes[0].Object))
	}
}
