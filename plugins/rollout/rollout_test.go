package rollout

import (
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "risky deployment", Failure: "testdata/failure-deployment.yaml", Fixed: "testdata/fixed-deployment.yaml",
			Findings: []string{"maxUnavailable 50% lets a rollout take down 1 of 2 pods", "progressDeadlineSeconds 7200", "minReadySeconds 0", "revisionHistoryLimit 0"}},
		{Name: "a ReadWriteOnce claim: no surge, a human", Failure: "testdata/failure-rwo.yaml", Fixed: "testdata/fixed-rwo.yaml",
			Findings: []string{"maxUnavailable 1 lets a rollout take down 1 of 2 pods", "minReadySeconds 0"},
			NeedsHuman: []string{"the pods mount PersistentVolumeClaim uploads-files (ReadWriteOnce): with maxUnavailable 0 and maxSurge 1 the new pod waits for a volume the old pods hold " +
				"(one node attaches a ReadWriteOnce claim, one pod a ReadWriteOncePod one) while no old pod stops, and the next rollout hangs; " +
				"keep maxSurge 0 (or Recreate) while the pods share a ReadWriteOnce claim"}},
		{Name: "a claim of unknown access mode counts as not shareable", Failure: "testdata/failure-claim-unknown.yaml",
			Findings:   []string{"maxUnavailable 1"},
			NeedsHuman: []string{"the pods mount PersistentVolumeClaim uploads-files (access mode unknown: it is not in the namespace): "}},
		{Name: "a ReadWriteMany claim and an ephemeral volume: surge is safe", Failure: "testdata/failure-rwx.yaml", Fixed: "testdata/fixed-rwx.yaml",
			Findings: []string{"maxUnavailable 1"}},
		{Name: "recreate needs a human", Failure: "testdata/failure-recreate.yaml",
			Findings: []string{"strategy Recreate"}, NeedsHuman: []string{"switch to RollingUpdate"}},
		{Name: "statefulset on delete", Failure: "testdata/failure-statefulset.yaml", Fixed: "testdata/fixed-statefulset.yaml",
			Findings: []string{"updateStrategy OnDelete", "minReadySeconds 0"}, NeedsHuman: []string{"switch to RollingUpdate"}},
		{Name: "safe deployment passes", Failure: "testdata/pass.yaml"},
	})
}

// Claims that could not be listed are unknown too, and the reason says
// why; minReadySeconds says what it costs.
func TestClaimsUnreadAndMinReadyCost(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-rwo.yaml")
	s.PersistentVolumeClaims = nil
	s.Unread = []inspect.Unread{{Resource: inspect.ResClaims, Verb: "list", Reason: inspect.ReasonForbidden}}
	fs := Rule{}.Check(s)
	if len(fs) != 2 || !strings.Contains(fs[0].NeedsHuman, "PersistentVolumeClaim uploads-files (access mode unknown: the claims could not be listed (forbidden))") {
		t.Errorf("unread claims: %+v", fs)
	}
	fix, err := Rule{}.Fix(s, rules.Finding{Rule: id, Field: "spec.minReadySeconds"}, nil)
	if err != nil || fix.Description != "set minReadySeconds to 10 (a new pod counts as available 10 s after it is ready: each rollout takes about 10 s longer per pod)" {
		t.Errorf("minReadySeconds: %v %+v", err, fix)
	}
}
