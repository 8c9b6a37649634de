package e2e

import (
	"strings"
	"testing"
)

// A ResourceQuota that allows no PodDisruptionBudget refuses the dry-run
// of --fix=replicas,pdb with a 403 that is not the authoriser's. A user who
// may write both objects but not watch the rollout nor roll it back is
// told the quota's reason, as an admin is, not the rights it also lacks:
// those no review can link to the refusal, and granting them would only
// meet the quota. An admin's preview says the quota's reason too.
func TestRefusedByQuotaKeepsItsReason(t *testing.T) {
	ns := newNamespace(t)
	applyFile(t, ns, "testdata/e2e/replicas.yaml")
	waitRollout(t, ns, "deploy/solo")
	kubectl(t, "apply", "-f", writeManifest(t, `apiVersion: v1
kind: ResourceQuota
metadata: {name: no-pdb, namespace: `+ns+`}
spec:
  hard: {count/poddisruptionbudgets.policy: "0"}
`))
	grantAuditAnd(t, ns, `
- {apiGroups: [apps], resources: [deployments], verbs: [patch]}
- {apiGroups: [policy], resources: [poddisruptionbudgets], verbs: [patch, create]}`, "patch deployments -n "+ns, "create poddisruptionbudgets -n "+ns)

	before := specJSON(t, ns, "deploy", "solo")
	r := runCmd(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, "kubectl-harden", "deploy/solo", "-n", ns,
		"--context", "harden-limited", "--fix=replicas,pdb", "--force-conflicts", "--yes")
	oneErrorLine(t, r, "exceeded quota: no-pdb")
	if strings.Contains(r.stderr, "cannot watch") || strings.Contains(r.stderr, "cannot delete") {
		t.Errorf("the quota's refusal is reported as missing rights:\n%s", r.stderr)
	}
	if after := specJSON(t, ns, "deploy", "solo"); after != before {
		t.Errorf("a refused run changed the spec:\nbefore %s\nafter  %s", before, after)
	}
	noPDB(t, ns)

	// The admin's preview (no --yes): the quota refuses its dry-run too;
	// that is its error, not a dry-run "refused" for want of patch rights.
	r = harden(t, "deploy/solo", "-n", ns, "--fix=replicas,pdb", "--force-conflicts")
	oneErrorLine(t, r, "exceeded quota: no-pdb")
	if strings.Contains(r.stderr, "dry-run was refused") {
		t.Errorf("the preview blames the user's rights for the quota:\n%s", r.stderr)
	}
}
