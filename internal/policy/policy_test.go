package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-harden/kubectl-harden/internal/policy"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/all"
)

// Each invalid file is refused with its line and what to write instead.
func TestLoadErrors(t *testing.T) {
	for file, want := range map[string]string{
		"unknown-key.yaml":         `unknown-key.yaml:6: unknown key "severty" in a rule's settings`,
		"bad-apiversion.yaml":      `bad-apiversion.yaml:1: apiVersion "harden.kubectl.dev/v1", kind "Policy": a policy file is apiVersion: harden.kubectl.dev/v1alpha1, kind: Policy`,
		"bad-date.yaml":            `bad-date.yaml:7: exemptions[0].expires: "31/12/2026" is not a date: use YYYY-MM-DD`,
		"unknown-rule.yaml":        `unknown-rule.yaml:4: rules: unknown rule "readines-probe" (did you mean readiness-probe?)`,
		"unknown-param.yaml":       `unknown-param.yaml:6: rules.pdb.params: rule pdb has no parameter "max-unavailabel" (did you mean max-unavailable?) (it has: max-unavailable)`,
		"no-reason.yaml":           `no-reason.yaml:4: exemptions[0]: reason is required`,
		"unknown-exempt-rule.yaml": `unknown-exempt-rule.yaml:4: exemptions[0].rules: unknown rule "sprad" (did you mean spread?)`,
	} {
		_, err := policy.Load(filepath.Join("testdata", file))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
	}
}

func load(t *testing.T, now string) *policy.Policy {
	t.Helper()
	p, err := policy.Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.DateOnly, now)
	p.Now = func() time.Time { return at }
	return p
}

// The file's settings: a rule off, a severity, parameter defaults, and a
// reference naming the file by absolute path and content hash.
func TestSettings(t *testing.T) {
	p := load(t, "2026-01-01")
	if !p.Disabled("rollout") || p.Disabled("pdb") {
		t.Errorf("disabled: rollout %v, pdb %v", p.Disabled("rollout"), p.Disabled("pdb"))
	}
	if sev, ok := p.Severity("resources"); !ok || sev != rules.Critical {
		t.Errorf("resources severity %v %v", sev, ok)
	}
	if got := p.Params()["pdb"]["max-unavailable"]; got != "25%" {
		t.Errorf("pdb.max-unavailable %q", got)
	}
	if !filepath.IsAbs(p.Ref.Path) || len(p.Ref.SHA256) != 64 {
		t.Errorf("ref %+v", p.Ref)
	}
}

// An exemption applies before its expiry date; from that day on it no
// longer exempts and yields a finding with its reason instead.
func TestExemptionsAndExpiry(t *testing.T) {
	web := rules.Target{Namespace: "shop", Kind: "Deployment", Name: "web", Labels: map[string]string{"app": "web"}}
	api := rules.Target{Namespace: "shop", Kind: "Deployment", Name: "api", Labels: map[string]string{"app": "api"}}
	readiness, _ := rules.Get("readiness-probe")
	spread, _ := rules.Get("spread")
	replicas, _ := rules.Get("replicas")
	pdb, _ := rules.Get("pdb")

	before := load(t, "2026-01-30")
	if why, ok := before.Exempts(web, readiness.Meta()); !ok || !strings.Contains(why, "valid.yaml: web is probed by the mesh sidecar (until 2026-01-31)") {
		t.Errorf("before expiry: %q %v", why, ok)
	}
	if got := before.Expired(web); len(got) != 0 {
		t.Errorf("expired before the date: %+v", got)
	}
	if _, ok := before.Exempts(api, readiness.Meta()); ok {
		t.Error("deployment/web's exemption covers api")
	}
	if _, ok := before.Exempts(api, spread.Meta()); !ok {
		t.Error("namespace glob sh* does not cover shop")
	}
	if _, ok := before.Exempts(rules.Target{Namespace: "other", Kind: "Deployment", Name: "x"}, spread.Meta()); ok {
		t.Error("namespace glob sh* covers other")
	}
	if _, ok := before.Exempts(web, replicas.Meta()); !ok {
		t.Error("selector app=web does not cover web")
	}
	if _, ok := before.Exempts(api, replicas.Meta()); ok {
		t.Error("selector app=web covers api")
	}
	if _, ok := before.Exempts(web, pdb.Meta()); ok {
		t.Error("pdb is exempted by no exemption")
	}

	after := load(t, "2026-01-31")
	if why, ok := after.Exempts(web, readiness.Meta()); ok {
		t.Errorf("expired exemption still applies: %q", why)
	}
	got := after.Expired(web)
	if len(got) != 1 || got[0].Rule != policy.ExpiredRule || got[0].Status != rules.StatusNeedsHuman ||
		!strings.Contains(got[0].Message, "(web is probed by the mesh sidecar) expired on 2026-01-31") ||
		!strings.Contains(got[0].Reason, "exemptions[1]") {
		t.Errorf("expired: %+v", got)
	}
	if got := after.Expired(api); len(got) != 0 {
		t.Errorf("api was never exempted, yet: %+v", got)
	}
}

// Evaluate honours the policy: a disabled rule has no finding, a severity
// override changes the finding and the score, an exemption exempts with
// the file's reason, an expired one adds its finding.
func TestEvaluateWithPolicy(t *testing.T) {
	snap := rulestest.Load(t, "../rules/testdata/annotated.yaml")
	plain, err := rules.Evaluate(snap, rules.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	p := load(t, "2026-02-01")
	got, err := rules.Evaluate(snap, rules.Selection{Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	byRule := func(rs []rules.Result) map[string]rules.Result {
		m := map[string]rules.Result{}
		for _, r := range rs {
			m[r.Rule] = r
		}
		return m
	}
	was, is := byRule(plain), byRule(got)
	if _, ok := was["rollout"]; !ok {
		t.Fatal("the fixture has no rollout finding: the test proves nothing")
	}
	if _, ok := is["rollout"]; ok {
		t.Error("disabled rule rollout still has a finding")
	}
	if is["resources"].Severity != rules.Critical || was["resources"].Severity == rules.Critical {
		t.Errorf("resources severity %v (was %v), want critical", is["resources"].Severity, was["resources"].Severity)
	}
	if r := is["replicas"]; r.Status != rules.StatusExempted || !strings.HasPrefix(r.Reason, "policy "+p.Ref.Path+": web is a singleton") {
		t.Errorf("replicas: %s %q", r.Status, r.Reason)
	}
	// web's probe exemption (deployment/web) expired on 2026-01-31; the
	// probes stay exempted by the workload's own annotation.
	if r, ok := is[policy.ExpiredRule]; !ok || r.Status != rules.StatusNeedsHuman {
		t.Errorf("no expired-exemption finding: %+v", got)
	}
	if rules.Score(got) == rules.Score(plain) {
		t.Errorf("score unchanged by the policy: %d", rules.Score(got))
	}
}

// Discover finds the nearest file up to the git repository's root, and
// none above it.
func TestDiscover(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	deep := filepath.Join(repo, "apps", "web")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string) {
		if err := os.WriteFile(path, []byte("apiVersion: harden.kubectl.dev/v1alpha1\nkind: Policy\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, policy.FileName))
	if got, _ := policy.Discover(deep); got != filepath.Join(root, policy.FileName) {
		t.Errorf("outside a repository: %q", got)
	}
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := policy.Discover(deep); got != "" {
		t.Errorf("a file above the repository's root was used: %q", got)
	}
	write(filepath.Join(repo, policy.FileName))
	if got, _ := policy.Discover(deep); got != filepath.Join(repo, policy.FileName) {
		t.Errorf("the repository's own: %q", got)
	}
	write(filepath.Join(deep, policy.FileName))
	if got, _ := policy.Discover(deep); got != filepath.Join(deep, policy.FileName) {
		t.Errorf("the nearest: %q", got)
	}
}

// The policy's parameter defaults reach the rules through the selection;
// the selection's own (--set, the UI's edits) win.
func TestParamsOf(t *testing.T) {
	p := load(t, "2026-01-01")
	if got := (rules.Selection{Policy: p}).ParamsOf("pdb")["max-unavailable"]; got != "25%" {
		t.Errorf("policy default: %q", got)
	}
	sel := rules.Selection{Policy: p, Params: map[string]rules.Params{"pdb": {"max-unavailable": "1"}}}
	if got := sel.ParamsOf("pdb")["max-unavailable"]; got != "1" {
		t.Errorf("--set: %q", got)
	}
}

// A probe timing given as a policy default reaches the fix, named as given.
func TestTimingParamReachesTheFix(t *testing.T) {
	file := filepath.Join(t.TempDir(), policy.FileName)
	policyText := "apiVersion: harden.kubectl.dev/v1alpha1\nkind: Policy\nrules:\n  readiness-probe:\n    params:\n      period: \"7\"\n"
	if err := os.WriteFile(file, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	sel := rules.Selection{Policy: p, Fix: []string{"readiness-probe"}}
	if got := sel.ParamsOf("readiness-probe")["period"]; got != "7" {
		t.Errorf("policy default: %q", got)
	}
	r := rulestest.Result(t, sel, "readiness-probe", "../../plugins/readinessprobe/testdata/failure-target-named.yaml")
	if r.Fix == nil || !strings.Contains(r.Fix.Description, "periodSeconds 7 (--set/policy)") || !strings.Contains(rulestest.YAML(r.Fix.Changes[0].Object), "periodSeconds: 7") {
		t.Errorf("fix %+v", r)
	}
}
