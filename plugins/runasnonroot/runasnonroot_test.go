package runasnonroot

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "unknown user, a container asking for root, a volume", Failure: "testdata/failure-unknown-user.yaml", Fixed: "testdata/fixed-unknown-user.yaml",
			Findings: []string{`runAsNonRoot != true (pod or containers "web", "helper" must set securityContext.runAsNonRoot=true); runAsUser=0 (container "helper" must not set runAsUser=0)`}},
		{Name: "keeps the UID the kubelet reports", Failure: "testdata/failure-live-uid.yaml", Fixed: "testdata/fixed-live-uid.yaml",
			Findings: []string{"the containers run as UID 101 today"}},
		{Name: "uid parameter", Failure: "testdata/failure-live-uid.yaml", Fixed: "testdata/fixed-uid-param.yaml",
			Findings: []string{"runAsNonRoot != true"}, Params: rules.Params{"uid": "2000"}},
		{Name: "explicit pod UID, GID and fsGroup kept", Failure: "testdata/failure-explicit-uid.yaml", Fixed: "testdata/fixed-explicit-uid.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "web" must set securityContext.runAsNonRoot=true)`}},
		{Name: "explicit container UIDs kept", Failure: "testdata/failure-container-uid.yaml", Fixed: "testdata/fixed-container-uid.yaml",
			Findings: []string{"runAsNonRoot != true"}},
		{Name: "containers running as different users keep theirs", Failure: "testdata/failure-live-mixed.yaml", Fixed: "testdata/fixed-live-mixed.yaml",
			Findings: []string{"runAsNonRoot != true"}},
		{Name: "root today, named", Failure: "testdata/failure-root-port80.yaml", Fixed: "testdata/fixed-root-port80.yaml",
			Findings: []string{"Pod Security Standards (restricted): runAsNonRoot != true (pod or container \"web\" must set securityContext.runAsNonRoot=true)"}},
		{Name: "postgres with a claim, its UID given", Failure: "testdata/failure-postgres.yaml", Fixed: "testdata/fixed-postgres-uid.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "postgres" must set securityContext.runAsNonRoot=true)`}, Params: rules.Params{"uid": "999"}},
		{Name: "postgres with its user given", Failure: "testdata/failure-postgres-explicit.yaml", Fixed: "testdata/fixed-postgres-explicit.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "postgres" must set securityContext.runAsNonRoot=true)`}},
		{Name: "redis, its UID given", Failure: "testdata/failure-redis.yaml", Fixed: "testdata/fixed-redis-uid.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "redis" must set securityContext.runAsNonRoot=true)`}, Params: rules.Params{"uid": "999"}},
		{Name: "nginx-unprivileged, a guess the rollout checks", Failure: "testdata/failure-nginx-unprivileged.yaml", Fixed: "testdata/fixed-nginx-unprivileged.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "web" must set securityContext.runAsNonRoot=true)`}},
		{Name: "plain app, a guess the rollout checks", Failure: "testdata/failure-plain.yaml", Fixed: "testdata/fixed-plain.yaml",
			Findings: []string{`runAsNonRoot != true (pod or container "api" must set securityContext.runAsNonRoot=true)`}},
		{Name: "non-root passes", Failure: "testdata/pass.yaml"},
	})
}

// What each fix says: where its UID comes from, and what may break.
func TestDescriptionsAndWarnings(t *testing.T) {
	for file, want := range map[string]struct {
		description string
		warnings    []string
	}{
		"testdata/failure-explicit-uid.yaml":  {"run as non-root (runAsUser 1000 kept)", nil},
		"testdata/failure-live-uid.yaml":      {"run as non-root (UID 101, the user the containers run as today)", nil},
		"testdata/failure-live-mixed.yaml":    {"run as non-root (each container's UID as it runs today)", nil},
		"testdata/failure-container-uid.yaml": {"run as non-root (runAsNonRoot only: each container's runAsUser kept)", nil},
		"testdata/failure-unknown-user.yaml": {"run as non-root (UID 65532; UID 65532 instead of root in helper)",
			[]string{"container helper runs as root (UID 0) today: as another user the app may fail to start, or start and then fail to read or write files root owns",
				"the image's user is unknown (the kubelet reports none): UID 65532 is a guess",
				"fsGroup 65532: the kubelet changes the group (not the owner) of every file on volume data (PersistentVolumeClaim web-data) to 65532"}},
		"testdata/failure-live-disagree.yaml": {"run as non-root (UID 65532)",
			[]string{"the pods report different users for container web (UID 0 in pod web-1, UID 1000 in pod web-2): as UID 65532 it may fail to start, or start and then fail to read or write files its user owned"}},
		"testdata/failure-port80-dropped.yaml": {"run as non-root (UID 65532)",
			[]string{"the image's user is unknown", "container web binds port 80 < 1024 and drops ALL capabilities without adding NET_BIND_SERVICE: " +
				"it binds the port today only if the pod's net.ipv4.ip_unprivileged_port_start lets every user do so, and as a non-root user it needs that too"}},
		"testdata/failure-root-container-pod-uid.yaml": {"run as non-root (runAsUser 1000 kept; UID 1000 instead of root in web)",
			[]string{"container web runs as root (UID 0) today: as another user the app may fail to start, or start and then fail to read or write files root owns (the rollout watch only catches a failed start); check the image runs as UID 1000, or give"}},
		"testdata/failure-root-port80.yaml": {"run as non-root (UID 65532)",
			[]string{"container web runs as root (UID 0) today", "container web binds port 80 < 1024: as a non-root user it needs NET_BIND_SERVICE",
				"fsGroup 65532: the kubelet changes the group (not the owner) of every file on volume html"}},
	} {
		s := rulestest.Load(t, file)
		fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if fix.Description != want.description {
			t.Errorf("%s: description %q, want %q", file, fix.Description, want.description)
		}
		if len(fix.Warnings) != len(want.warnings) {
			t.Errorf("%s: warnings %q, want %d", file, fix.Warnings, len(want.warnings))
			continue
		}
		for i, w := range want.warnings {
			if !strings.Contains(fix.Warnings[i], w) {
				t.Errorf("%s: warning %q lacks %q", file, fix.Warnings[i], w)
			}
		}
	}
}

// A container running as root today is a warned choice: --fix=all and
// --fix=security leave it skipped with the reason; naming the rule (or its
// ID among others) plans it. Known non-root users are planned under all.
func TestRootIsOptIn(t *testing.T) {
	for _, tc := range []struct {
		file   string
		fix    []string
		status rules.Status
	}{
		{"testdata/failure-root-port80.yaml", []string{"all"}, rules.StatusSkipped},
		{"testdata/failure-root-port80.yaml", []string{"security"}, rules.StatusSkipped},
		{"testdata/failure-unknown-user.yaml", []string{"all"}, rules.StatusSkipped},
		{"testdata/failure-root-port80.yaml", []string{"all", id}, rules.StatusPlanned},
		{"testdata/failure-root-port80.yaml", []string{id}, rules.StatusPlanned},
		{"testdata/failure-live-disagree.yaml", []string{"all"}, rules.StatusSkipped},
		{"testdata/failure-live-disagree.yaml", []string{id}, rules.StatusPlanned},
		{"testdata/failure-explicit-uid.yaml", []string{"all"}, rules.StatusPlanned},
		{"testdata/failure-live-uid.yaml", []string{"all"}, rules.StatusPlanned},
	} {
		results, err := rules.Evaluate(rulestest.Load(t, tc.file), rules.Selection{Fix: tc.fix})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Rule != id {
				continue
			}
			if r.Status != tc.status {
				t.Errorf("%s --fix=%s: %s (%s), want %s", tc.file, strings.Join(tc.fix, ","), r.Status, r.Reason, tc.status)
			}
			if r.Status == rules.StatusSkipped && (!strings.Contains(r.Reason, "(the rollout watch only catches a failed start)") ||
				!strings.HasSuffix(r.Reason, "; name it to apply: --fix=run-as-non-root")) {
				t.Errorf("%s: reason %q", tc.file, r.Reason)
			}
		}
	}
}

// On OpenShift the SCC picks the UID: only runAsNonRoot is set.
func TestOpenShift(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-root-port80.yaml")
	s.Cluster = &inspect.Cluster{OpenShift: true}
	fix, err := Rule{}.Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil || strings.Contains(rulestest.YAML(fix.Changes[0].Object), "runAsUser") || strings.Contains(rulestest.YAML(fix.Changes[0].Object), "fsGroup") {
		t.Errorf("OpenShift must leave runAsUser to the SCC: %v\n%s", err, rulestest.YAML(fix.Changes[0].Object))
	}
}

// A guessed UID is not planned by --fix=all where it breaks the app later
// than any rollout watch: a data store whose files belong to its own user,
// an image that starts as root and switches user, a persistent volume. The
// reason says what to do instead; naming the rule with the UID plans it.
// A plain app, nginx-unprivileged and an explicit non-root user are
// planned under all.
func TestGuessIsOptIn(t *testing.T) {
	for _, tc := range []struct {
		file   string
		fix    []string
		params rules.Params
		status rules.Status
		reason []string // substrings of the skip reason
		uid    string   // runAsUser written when planned
	}{
		{"testdata/failure-postgres.yaml", []string{"all"}, nil, rules.StatusSkipped, []string{
			"image postgres:16 (container postgres) runs as root and switches to its own user (999 for the official image); its data files (volume data (volumeClaimTemplates)) belong to that user: set runAsUser to it (--set run-as-non-root.uid=999) rather than a guess (UID 65532)"}, ""},
		{"testdata/failure-postgres.yaml", []string{"all", id}, rules.Params{"uid": "999"}, rules.StatusPlanned, nil, "999"},
		{"testdata/failure-redis.yaml", []string{"all"}, nil, rules.StatusSkipped, []string{
			"image redis:7 (container redis) runs as root and switches to its own user (999 for the official image); its data files belong to that user: set runAsUser to it (--set run-as-non-root.uid=999)"}, ""},
		{"testdata/failure-redis.yaml", []string{"security"}, nil, rules.StatusSkipped, []string{"(--set run-as-non-root.uid=999)"}, ""},
		{"testdata/failure-redis-replica.yaml", []string{"all"}, nil, rules.StatusSkipped, []string{
			`name redis-replica (image gcr.io/google_samples/gb-redisslave:v1) says "redis" is a data store: its data files belong to the image's user, which the kubelet does not report: set runAsUser to it (--set run-as-non-root.uid=N)`}, ""},
		{"testdata/failure-nginx.yaml", []string{"all"}, nil, rules.StatusSkipped, []string{
			"image nginx:1.27 (container web) starts as root and switches to user nginx (101) itself", "as UID 65532 it fails to start; use nginxinc/nginx-unprivileged (UID 101, port 8080)"}, ""},
		{"testdata/failure-claim.yaml", []string{"all"}, nil, rules.StatusSkipped, []string{
			"volume uploads (PersistentVolumeClaim api-uploads) holds files that belong to the image's user, which the kubelet does not report",
			"fsGroup 65532 would change the group of every file on it (not the owner)"}, ""},
		{"testdata/failure-nginx-unprivileged.yaml", []string{"all"}, nil, rules.StatusPlanned, nil, "65532"},
		{"testdata/failure-plain.yaml", []string{"all"}, nil, rules.StatusPlanned, nil, "65532"},
		{"testdata/failure-postgres-explicit.yaml", []string{"all"}, nil, rules.StatusPlanned, nil, "999"},
	} {
		s := rulestest.Load(t, tc.file)
		results, err := rules.Evaluate(s, rules.Selection{Fix: tc.fix, Params: map[string]rules.Params{id: tc.params}})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range results {
			if r.Rule != id {
				continue
			}
			found = true
			if r.Status != tc.status {
				t.Errorf("%s --fix=%s: %s (%s), want %s", tc.file, strings.Join(tc.fix, ","), r.Status, r.Reason, tc.status)
				continue
			}
			for _, part := range tc.reason {
				if !strings.Contains(r.Reason, part) || !strings.HasSuffix(r.Reason, "; name it to apply: --fix=run-as-non-root") {
					t.Errorf("%s: reason %q lacks %q", tc.file, r.Reason, part)
				}
			}
			if tc.status != rules.StatusPlanned {
				continue
			}
			if s, err = rules.Project(s, r.Fix); err != nil {
				t.Fatal(err)
			}
			sc := s.Workload.PodTemplate().Spec.SecurityContext
			if sc == nil || sc.RunAsUser == nil || strconv.FormatInt(*sc.RunAsUser, 10) != tc.uid || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Errorf("%s --fix=%s: pod securityContext %+v, want runAsNonRoot and runAsUser %s", tc.file, strings.Join(tc.fix, ","), sc, tc.uid)
			}
		}
		if !found {
			t.Errorf("%s: no %s finding", tc.file, id)
		}
	}
}

// The text report prints "MESSAGE — REASON": the message is what Pod
// Security Standards say is wrong, the opt-in reason what was seen that
// makes the fix risky; the one never repeats the other (it used to:
// "image nginx:latest (container web) starts as root — image nginx:latest
// (container web) starts as root and …").
func TestMessageAndOptInSayEachFactOnce(t *testing.T) {
	for file, seen := range map[string]string{
		"testdata/failure-unknown-user.yaml":  "container helper runs as root (UID 0) today",
		"testdata/failure-root-port80.yaml":   "container web runs as root (UID 0) today",
		"testdata/failure-postgres.yaml":      "image postgres:16 (container postgres) runs as root and switches to its own user",
		"testdata/failure-redis.yaml":         "image redis:7 (container redis)",
		"testdata/failure-live-disagree.yaml": "the pods report different users for container web",
	} {
		s := rulestest.Load(t, file)
		fs := Rule{}.Check(s)
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want 1", file, len(fs))
		}
		f := fs[0]
		if !strings.HasPrefix(f.Message, "Pod Security Standards (restricted): ") || !strings.Contains(f.OptIn, seen) {
			t.Errorf("%s: message %q, opt-in %q: want the check, and %q in the opt-in", file, f.Message, f.OptIn, seen)
		}
		if strings.Contains(f.Message, seen) || strings.Contains(f.Message, "image ") || strings.Contains(f.OptIn, "must set") {
			t.Errorf("%s: message %q and opt-in %q repeat each other", file, f.Message, f.OptIn)
		}
	}
}
