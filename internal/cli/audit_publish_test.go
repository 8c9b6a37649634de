package cli

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

func TestValidatePublish(t *testing.T) {
	all := []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
	for _, tc := range []struct {
		name string
		o    AuditOptions
		want string // "" when valid
	}{
		{"none", AuditOptions{Kinds: all[:1]}, ""},
		{"auto", AuditOptions{Publish: publishAuto, Kinds: all}, ""},
		{"openreports", AuditOptions{Publish: "openreports", Kinds: []string{"deploy", "sts", "ds", "job", "cj"}}, ""},
		{"unknown", AuditOptions{Publish: "kyverno", Kinds: all}, `--publish must be policyreport or openreports (or no value: whichever is installed), got "kyverno"`},
		{"with fix", AuditOptions{Publish: publishAuto, Kinds: all, Fix: []string{"pdb"}}, "run them one after the other"},
		{"selector", AuditOptions{Publish: publishAuto, Kinds: all, Selector: "app=web"}, "without -l or --kinds"},
		{"kinds", AuditOptions{Publish: publishAuto, Kinds: all[:2]}, "without -l or --kinds"},
	} {
		err := tc.o.validatePublish()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestPublishNeedsCRD: --publish resolves to the first served CRD, and
// without one says, in one line, how to install it or what to print.
func TestPublishNeedsCRD(t *testing.T) {
	served := func(gvs ...string) *AuditOptions {
		client := fake.NewClientset()
		d := client.Discovery().(*fakediscovery.FakeDiscovery)
		for _, gv := range gvs {
			res := "policyreports"
			if strings.HasPrefix(gv, "openreports") {
				res = "reports"
			}
			d.Resources = append(d.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: []metav1.APIResource{{Name: res, Namespaced: true}}})
		}
		return &AuditOptions{session: &session{reader: &inspect.Reader{Client: client}}}
	}
	for _, tc := range []struct {
		publish string
		gvs     []string
		want    string // the report kind, or the error
	}{
		{publishAuto, []string{"wgpolicyk8s.io/v1alpha2", "openreports.io/v1alpha1"}, "policyreport"},
		{publishAuto, []string{"openreports.io/v1alpha1"}, "openreports"},
		{"openreports", []string{"wgpolicyk8s.io/v1alpha2"}, "Report CRD (openreports.io/v1alpha1) is not installed: install it with kubectl apply -f https://raw.githubusercontent.com/openreports/reports-api/v0.2.1/config/install.yaml or use -o openreports"},
		{"policyreport", nil, "PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed: install it with kubectl apply -f https://raw.githubusercontent.com/kyverno/kyverno/v1.19.1/config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml or use -o policyreport"},
		{publishAuto, []string{"wgpolicyk8s.io/v1beta1"}, "neither report CRD is installed: PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed"},
	} {
		o := served(tc.gvs...)
		o.Publish = tc.publish
		api, err := o.reportAPI()
		got := api.name
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("--publish=%s with %v: %q, want %q", tc.publish, tc.gvs, got, tc.want)
		}
	}
}
