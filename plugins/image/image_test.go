package image

import (
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "pinned to the digests the pods run", Failure: "testdata/failure-latest.yaml", Fixed: "testdata/fixed-latest.yaml",
			Findings: []string{"container web runs nginx:latest (:latest)", "container sidecar runs registry.example:5000/team/sidecar (no tag)"}},
		{Name: "no digest reported", Failure: "testdata/failure-no-digest.yaml",
			Findings: []string{"container web runs nginx (no tag)"}, NeedsHuman: []string{"no running pod reports the digest"}},
		{Name: "pods disagree", Failure: "testdata/failure-disagree.yaml",
			Findings: []string{":latest"}, NeedsHuman: []string{"run 2 different digests"}},
		{Name: "tags and digests pass", Failure: "testdata/pass.yaml"},
	})
}

// The description says when the pin also changes imagePullPolicy, which
// the patch always sets to IfNotPresent: from the spec's, or the API
// server's default (Always for :latest or no tag).
func TestDescriptionSaysThePullPolicyChange(t *testing.T) {
	const digest1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const digest2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	for file, want := range map[string][]string{
		"testdata/failure-latest.yaml": {
			"pin web to " + digest1 + ", the digest its pods run, and pull it only when missing (imagePullPolicy: Always → IfNotPresent)",
			"pin sidecar to " + digest2 + ", the digest its pods run, and pull it only when missing (imagePullPolicy: Always → IfNotPresent)"},
		"testdata/failure-latest-policies.yaml": {
			"pin web to " + digest1 + ", the digest its pods run",
			"pin sidecar to " + digest2 + ", the digest its pods run, and pull it only when missing (imagePullPolicy: Never → IfNotPresent)"},
	} {
		s := rulestest.Load(t, file)
		findings := Rule{}.Check(s)
		if len(findings) != len(want) {
			t.Fatalf("%s: %d findings, want %d", file, len(findings), len(want))
		}
		for i, f := range findings {
			fix, err := Rule{}.Fix(s, f, nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if fix.Description != want[i] {
				t.Errorf("%s: description %q, want %q", file, fix.Description, want[i])
			}
		}
	}
}
