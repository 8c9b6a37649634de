package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hardenIn runs the plugin with dir as its working directory, where it
// looks for .harden.yaml.
func hardenIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl-harden", args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl-harden %v: %v", args, err)
	}
	return r
}

// policyFinding is a finding as -o json writes it.
type policyFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	Fix      *struct {
		Description string `json:"description"`
	} `json:"fix"`
}

type policyRefJSON struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

type policyReport struct {
	Policy    *policyRefJSON `json:"policy"`
	Workloads []struct {
		Name     string          `json:"name"`
		Score    int             `json:"score"`
		Findings []policyFinding `json:"findings"`
	} `json:"workloads"`
}

type policyAudit struct {
	Policy     *policyRefJSON `json:"policy"`
	Namespaces []struct {
		Workloads []struct {
			Kind     string          `json:"kind"`
			Name     string          `json:"name"`
			Score    int             `json:"score"`
			Findings []policyFinding `json:"findings"`
		} `json:"workloads"`
	} `json:"namespaces"`
}

func decodeReport(t *testing.T, r result) policyReport {
	t.Helper()
	var rep policyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Workloads) != 1 {
		t.Fatalf("-o json: %v\n%s", err, r)
	}
	return rep
}

func byRule(fs []policyFinding) map[string]policyFinding {
	m := map[string]policyFinding{}
	for _, f := range fs {
		m[f.Rule] = f
	}
	return m
}

// A .harden.yaml over the demo shop, deployed with kubectl apply: found
// from the working directory or named by --config, it turns a rule off,
// raises a severity (and so lowers the score), gives a fix parameter's
// default (a --set wins), exempts with its reason, reports an expired
// exemption, is honoured alike by the audit and the single workload, and
// every output names it.
func TestPolicyFile(t *testing.T) {
	ns := newNamespace(t)
	applyDemoShop(t, ns)
	waitRollout(t, ns, "deployment/web")

	dir := t.TempDir()
	file := filepath.Join(dir, ".harden.yaml")
	policy := `apiVersion: harden.kubectl.dev/v1alpha1
kind: Policy
rules:
  rollout:
    enabled: false
  image:
    severity: critical
  readiness-probe:
    params:
      path: /healthz
exemptions:
- rules: [spread]
  workloads: [` + ns + `/deployment/web]
  reason: spread by the platform's scheduler profile
- rules: [liveness-probe]
  selector: tier=frontend
  reason: probed by the mesh until the sidecar goes
  expires: "2020-01-01"
`
	if err := os.WriteFile(file, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}

	// Without a policy (--config= turns discovery off).
	base := decodeReport(t, hardenIn(t, dir, "deploy/web", "-n", ns, "-o", "json", "--config="))
	if base.Policy != nil {
		t.Fatalf("--config= still used a policy: %+v", base.Policy)
	}
	was := byRule(base.Workloads[0].Findings)
	for _, id := range []string{"rollout", "image", "spread", "liveness-probe"} {
		if _, ok := was[id]; !ok {
			t.Fatalf("the demo's web has no %s finding: the test proves nothing\n%+v", id, was)
		}
	}
	if was["image"].Severity != "high" {
		t.Fatalf("image severity %s without a policy", was["image"].Severity)
	}

	// Found from the working directory.
	found := decodeReport(t, hardenIn(t, dir, "deploy/web", "-n", ns, "-o", "json"))
	if found.Policy == nil || found.Policy.Path != file || len(found.Policy.SHA256) != 64 {
		t.Fatalf("policy not named in -o json: %+v", found.Policy)
	}
	is := byRule(found.Workloads[0].Findings)
	if _, ok := is["rollout"]; ok {
		t.Errorf("disabled rule rollout still reported: %+v", is["rollout"])
	}
	if is["image"].Severity != "critical" {
		t.Errorf("image severity %s, want critical (policy)", is["image"].Severity)
	}
	if found.Workloads[0].Score >= base.Workloads[0].Score {
		t.Errorf("score %d with image critical, %d without: the override does not weigh", found.Workloads[0].Score, base.Workloads[0].Score)
	}
	if f := is["spread"]; f.Status != "exempted" || f.Reason != "policy "+file+": spread by the platform's scheduler profile" {
		t.Errorf("spread: %s %q", f.Status, f.Reason)
	}
	if f := is["liveness-probe"]; f.Status == "exempted" {
		t.Errorf("an expired exemption still exempts: %q", f.Reason)
	}
	if f := is["policy-exemption-expired"]; f.Status != "needs-human" ||
		!strings.Contains(f.Message, "(probed by the mesh until the sidecar goes) expired on 2020-01-01") || !strings.Contains(f.Reason, file) {
		t.Errorf("expired exemption finding: %+v", f)
	}

	// Named by --config from elsewhere: the same verdicts.
	named := decodeReport(t, harden(t, "deploy/web", "-n", ns, "-o", "json", "--config", file))
	if named.Policy == nil || named.Policy.Path != file || named.Workloads[0].Score != found.Workloads[0].Score {
		t.Errorf("--config: policy %+v, score %d (found: %d)", named.Policy, named.Workloads[0].Score, found.Workloads[0].Score)
	}

	// A parameter default in the planned fix's description; --set wins.
	planned := byRule(decodeReport(t, hardenIn(t, dir, "deploy/web", "-n", ns, "-o", "json", "--fix=readiness-probe", "--dry-run=client")).Workloads[0].Findings)
	if f := planned["readiness-probe"]; f.Fix == nil || !strings.Contains(f.Fix.Description, "/healthz") {
		t.Errorf("readiness-probe fix without the policy's path /healthz: %+v", f)
	}
	set := byRule(decodeReport(t, hardenIn(t, dir, "deploy/web", "-n", ns, "-o", "json", "--fix=readiness-probe", "--dry-run=client", "--set", "readiness-probe.path=/ready")).Workloads[0].Findings)
	if f := set["readiness-probe"]; f.Fix == nil || !strings.Contains(f.Fix.Description, "/ready") || strings.Contains(f.Fix.Description, "/healthz") {
		t.Errorf("--set readiness-probe.path=/ready does not win over the policy: %+v", f)
	}

	// The text report names the file on its first line.
	text := hardenIn(t, dir, "deploy/web", "-n", ns, "-o", "text")
	if first, _, _ := strings.Cut(text.stdout, "\n"); !strings.HasPrefix(first, "policy: "+file+" (sha256 "+found.Policy.SHA256[:12]+")") {
		t.Errorf("text report's first line: %q", first)
	}

	// The audit agrees with the single workload, and names the file.
	ar := hardenIn(t, dir, "audit", "-n", ns, "-o", "json")
	var aud policyAudit
	if err := json.Unmarshal([]byte(ar.stdout), &aud); err != nil || len(aud.Namespaces) != 1 {
		t.Fatalf("audit -o json: %v\n%s", err, ar)
	}
	if aud.Policy == nil || aud.Policy.Path != file {
		t.Errorf("audit policy: %+v", aud.Policy)
	}
	agreed := false
	for _, w := range aud.Namespaces[0].Workloads {
		if w.Kind != "Deployment" || w.Name != "web" {
			continue
		}
		agreed = true
		if w.Score != found.Workloads[0].Score {
			t.Errorf("audit scores web %d, kubectl harden deploy/web %d", w.Score, found.Workloads[0].Score)
		}
		got := byRule(w.Findings)
		for id, f := range is {
			if g := got[id]; g.Status != f.Status || g.Severity != f.Severity || g.Reason != f.Reason {
				t.Errorf("%s: audit %s/%s %q, single %s/%s %q", id, g.Status, g.Severity, g.Reason, f.Status, f.Severity, f.Reason)
			}
		}
		if len(got) != len(is) {
			t.Errorf("audit has %d rules' findings on web, single %d", len(got), len(is))
		}
	}
	if !agreed {
		t.Fatalf("audit has no deployment/web:\n%s", ar.stdout)
	}
	for format, want := range map[string]string{
		"table":    "policy " + file + " (sha256 " + found.Policy.SHA256[:12] + ")",
		"sarif":    `"path": "` + file + `"`,
		"junit":    `<property name="policy" value="` + file + `"></property>`,
		"markdown": "Policy file: " + file,
		"yaml":     "path: " + file,
	} {
		r := hardenIn(t, dir, "audit", "-n", ns, "-o", format)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit -o %s does not name the policy (%q):\n%s", format, want, r)
		}
	}

	// audit --fix plans with the policy's parameters, and refuses a rule
	// it turns off.
	af := hardenIn(t, dir, "audit", "-n", ns, "--fix=readiness-probe", "--dry-run=client")
	if !strings.Contains(af.stdout, "readiness-probe: fix: add a readinessProbe to container web: httpGet /healthz") {
		t.Errorf("audit --fix without the policy's path /healthz:\n%s", af)
	}
	if r := hardenIn(t, dir, "audit", "-n", ns, "--fix=rollout"); r.code != 2 || !strings.Contains(r.stderr, "rule rollout is off in policy "+file) {
		t.Errorf("audit --fix=rollout with rollout off: %s", r)
	}

	// The effective policy.
	rules := hardenIn(t, dir, "rules", "--set", "pdb.max-unavailable=2")
	for _, want := range []string{"policy: " + file, "rollout ", "no (policy)", "critical  policy", "path=/healthz (policy)", "max-unavailable=2 (--set)", "EXPIRED on 2020-01-01"} {
		if !strings.Contains(rules.stdout, want) {
			t.Errorf("rules: no %q:\n%s", want, rules)
		}
	}

	// A broken file stops every command, naming the line.
	if err := os.WriteFile(file, []byte(policy+"colour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := hardenIn(t, dir, "audit", "-n", ns); r.code != 2 || !strings.Contains(r.stderr, file+":19: unknown key \"colour\" at the top level") {
		t.Errorf("a broken policy: %s", r)
	}
}
