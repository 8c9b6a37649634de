package replicas

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/rules/rulestest"
)

func TestFixtures(t *testing.T) {
	rulestest.Run(t, Rule{}, []rulestest.Case{
		{Name: "single replica", Failure: "testdata/failure-single.yaml", Fixed: "testdata/fixed-single.yaml",
			Findings: []string{"runs 1 replica"}},
		{Name: "count parameter", Failure: "testdata/failure-single.yaml", Fixed: "testdata/fixed-count3.yaml",
			Findings: []string{"runs 1 replica"}, Params: rules.Params{"count": "3"}},
		{Name: "HPA minimum raised, not spec.replicas", Failure: "testdata/failure-hpa.yaml", Fixed: "testdata/fixed-hpa.yaml",
			Findings: []string{"HorizontalPodAutoscaler web lets it scale down to 1 replica"}},
		{Name: "statefulset needs a human", Failure: "testdata/failure-statefulset.yaml",
			Findings: []string{"runs 1 replica"}, NeedsHuman: []string{"new members with their own volumes"}},
		{Name: "three replicas pass", Failure: "testdata/pass-three.yaml"},

		// More copies not known to be safe: needs a human, with the reason.
		{Name: "Recreate strategy", Failure: "testdata/failure-recreate.yaml",
			Findings:   []string{"runs 1 replica: a node drain, eviction or crash takes it down; more copies may not be safe: strategy Recreate"},
			NeedsHuman: []string{"spec.strategy.type is Recreate: the author made sure two pods never run together"}},
		{Name: "ReadWriteOnce claim", Failure: "testdata/failure-claim-rwo.yaml",
			Findings:   []string{"more copies may not be safe: PersistentVolumeClaim uploads (ReadWriteOnce)"},
			NeedsHuman: []string{"volume uploads mounts PersistentVolumeClaim uploads (ReadWriteOnce): a pod on another node cannot attach it; give each pod its own claim"}},
		{Name: "ReadWriteOnce claim mounted read-only", Failure: "testdata/failure-claim-readonly.yaml",
			Findings:   []string{"PersistentVolumeClaim site (ReadWriteOnce)"},
			NeedsHuman: []string{"volume site mounts PersistentVolumeClaim site (ReadWriteOnce): a pod on another node cannot attach it"}},
		{Name: "ReadWriteOncePod claim", Failure: "testdata/failure-claim-rwop.yaml",
			Findings:   []string{"PersistentVolumeClaim state (ReadWriteOncePod)"},
			NeedsHuman: []string{"no second pod may mount it, even on the same node"}},
		{Name: "claim not found: access mode unknown", Failure: "testdata/failure-claim-unknown.yaml",
			Findings:   []string{"PersistentVolumeClaim uploads (access mode unknown)"},
			NeedsHuman: []string{"whose access mode is unknown (it is not in the namespace)"}},
		{Name: "hostPath is per node", Failure: "testdata/failure-hostpath.yaml",
			Findings:   []string{"hostPath volume data"},
			NeedsHuman: []string{"volume data is hostPath /var/lib/web: every node has its own"}},
		{Name: "disk attached to one node", Failure: "testdata/failure-disk.yaml",
			Findings:   []string{"awsElasticBlockStore disk volume data"},
			NeedsHuman: []string{"attaches to one node at a time"}},
		{Name: "guestbook's redis leader: image and name", Failure: "testdata/failure-redis-leader.yaml",
			Findings: []string{`image docker.io/library/redis:7 (container leader) says "redis", name redis-leader says "leader"`},
			NeedsHuman: []string{`image docker.io/library/redis:7 (container leader) says "redis", a data store whose copies do not share ` +
				`their data by themselves: a second pod is a second, independent server behind the same Service`}},
		{Name: "boutique's redis-cart", Failure: "testdata/failure-redis-cart.yaml",
			Findings:   []string{`image redis:alpine (container redis) says "redis"`},
			NeedsHuman: []string{`kubectl harden deployment/redis-cart -n shop --fix=replicas --set replicas.singleton=ok`}},
		{Name: "role label says primary", Failure: "testdata/failure-primary-label.yaml",
			Findings:   []string{`label app.kubernetes.io/component=primary says "primary"`},
			NeedsHuman: []string{`says "primary": one copy is meant to lead or write`}},
		{Name: "pod holds a Lease", Failure: "testdata/failure-lease.yaml",
			Findings:   []string{"pod scheduler-7d9f8b6c5-x2kqp holds Lease shop-scheduler-lock"},
			NeedsHuman: []string{"(holderIdentity scheduler-7d9f8b6c5-x2kqp_1b4e28ba-2fa1-11d2-883f-0016d3cca427): the app elects a leader"}},
		{Name: "HPA minimum of a redis", Failure: "testdata/failure-hpa-redis.yaml",
			Findings:   []string{`HorizontalPodAutoscaler cache lets it scale down to 1 replica; more copies may not be safe: image bitnami/redis:7.2`},
			NeedsHuman: []string{"If they are safe after all (HorizontalPodAutoscaler cache may already scale it up to 4): kubectl harden deployment/cache"}},
		{Name: "count does not skip the checks", Failure: "testdata/failure-redis-cart.yaml", Params: rules.Params{"count": "3"},
			Findings: []string{"runs 1 replica"}, NeedsHuman: []string{`says "redis"`}},

		// Safe to copy: scaled.
		{Name: "ReadWriteMany as bound", Failure: "testdata/failure-claim-rwx.yaml", Fixed: "testdata/fixed-claim-rwx.yaml",
			Findings: []string{"runs 1 replica: a node drain, eviction or crash takes it down"}},
		{Name: "whole words only, tools and init containers aside", Failure: "testdata/failure-not-a-store.yaml",
			Fixed: "testdata/fixed-not-a-store.yaml", Findings: []string{"runs 1 replica"}},
		{Name: "Lease held by another pod", Failure: "testdata/failure-lease-other.yaml", Fixed: "testdata/fixed-lease-other.yaml",
			Findings: []string{"runs 1 replica"}},
		{Name: "singleton=ok: the user says copies are safe", Failure: "testdata/failure-redis-cart.yaml",
			Fixed: "testdata/fixed-redis-cart-ok.yaml", Params: rules.Params{"singleton": "ok"}, Findings: []string{"runs 1 replica"}},
		{Name: "singleton=ok on the HPA", Failure: "testdata/failure-hpa-redis.yaml",
			Fixed: "testdata/fixed-hpa-redis-ok.yaml", Params: rules.Params{"singleton": "ok"}, Findings: []string{"lets it scale down"}},
	})
}

func TestBadCount(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-single.yaml")
	if _, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], rules.Params{"count": "1"}); err == nil {
		t.Error("count=1 must be refused")
	}
}

func TestBadSingleton(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-redis-cart.yaml")
	_, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], rules.Params{"singleton": "yes"})
	var human *rules.NeedsHumanError
	if err == nil || errors.As(err, &human) || !strings.Contains(err.Error(), "singleton must be ok") {
		t.Errorf("singleton=yes: %v, want a parameter error", err)
	}
}

// A fix made despite the doubts says so: every reason is kept in its
// description and warnings.
func TestSingletonOKKeepsTheReasons(t *testing.T) {
	s := rulestest.Load(t, "testdata/failure-redis-leader.yaml")
	fix, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], rules.Params{"singleton": "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fix.Description, `set spec.replicas to 2 (the rule's default, --set replicas.count=N); more copies declared safe with --set replicas.singleton=ok despite: `+
		`image docker.io/library/redis:7 (container leader) says "redis", name redis-leader says "leader"`) {
		t.Errorf("description %q", fix.Description)
	}
	if len(fix.Warnings) != 2 || !strings.Contains(fix.Warnings[0], `says "redis", a data store`) ||
		!strings.Contains(fix.Warnings[1], `name redis-leader says "leader": one copy is meant to lead or write, and a second copy would do so too`) {
		t.Errorf("warnings %q", fix.Warnings)
	}
}

// Claims that could not be listed (403) count as not shareable, and say
// why; Leases that could not be listed do not stop the fix, which warns.
func TestUnreadLists(t *testing.T) {
	const denied = `persistentvolumeclaims is forbidden: User "dev" cannot list resource "persistentvolumeclaims"`
	s := rulestest.Load(t, "testdata/failure-claim-unknown.yaml")
	s.Unread = []inspect.Unread{{Resource: inspect.ResClaims, Verb: "list", Reason: inspect.ReasonForbidden, Message: denied}}
	_, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], nil)
	var human *rules.NeedsHumanError
	if !errors.As(err, &human) || !strings.Contains(human.Reason, "access mode is unknown (the claims could not be listed ("+denied+"))") {
		t.Errorf("claims unread: %v", err)
	}

	s = rulestest.Load(t, "testdata/failure-single.yaml")
	s.Unread = []inspect.Unread{{Resource: inspect.ResLeases, Verb: "list", Reason: inspect.ReasonForbidden,
		Message: `leases.coordination.k8s.io is forbidden: User "dev" cannot list resource "leases"`}}
	fix, err := (Rule{}).Fix(s, Rule{}.Check(s)[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "whether its pods hold a leader-election Lease is unknown: " + s.LeasesUnread()
	if !slices.Contains(fix.Warnings, want) {
		t.Errorf("warnings %q, want %q", fix.Warnings, want)
	}
}

func TestHeldBy(t *testing.T) {
	for _, tc := range []struct {
		holder, pod string
		want        bool
	}{
		{"web-5d8f-abcde", "web-5d8f-abcde", true},
		{"web-5d8f-abcde_8c1f0e2a", "web-5d8f-abcde", true},
		{"web-5d8f-abcde.shop.svc", "web-5d8f-abcde", true},
		{"web-5d8f-abcdef_8c1f0e2a", "web-5d8f-abcde", false},
		{"web-5d8f", "web-5d8f-abcde", false},
		{"", "web-5d8f-abcde", false},
	} {
		if got := heldBy(tc.holder, tc.pod); got != tc.want {
			t.Errorf("heldBy(%q, %q) = %v", tc.holder, tc.pod, got)
		}
	}
}
