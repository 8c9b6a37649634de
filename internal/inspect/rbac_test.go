package inspect

import (
	"os"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// reads are every read an inspection or an audit makes, as "group/resource
// verb": ListedResources (the audit's LISTs), the single inspection's GETs,
// and what is read only when served (pod metrics, the Gateway API, the
// Prometheus Operator's monitors, aggregated APIs).
func reads() []string {
	group := map[string]string{
		"deployments": "apps", "statefulsets": "apps", "daemonsets": "apps", "jobs": "batch", "cronjobs": "batch",
		"poddisruptionbudgets": "policy", "horizontalpodautoscalers": "autoscaling",
		"networkpolicies": "networking.k8s.io", "ingresses": "networking.k8s.io", "ingressclasses": "networking.k8s.io",
		"priorityclasses": "scheduling.k8s.io", "clusterrolebindings": "rbac.authorization.k8s.io", "rolebindings": "rbac.authorization.k8s.io",
		"leases": "coordination.k8s.io", "validatingwebhookconfigurations": "admissionregistration.k8s.io",
		"mutatingwebhookconfigurations": "admissionregistration.k8s.io",
	}
	var out []string
	for _, r := range ListedResources {
		out = append(out, group[r]+"/"+r+" list")
	}
	out = append(out,
		// Resolve reads the workload named; Reader.Snapshot its namespace
		// and ServiceAccount.
		"apps/deployments get", "apps/statefulsets get", "apps/daemonsets get", "batch/jobs get", "batch/cronjobs get",
		"/namespaces get", "/serviceaccounts get",
		"metrics.k8s.io/pods list", "apiregistration.k8s.io/apiservices list",
		"gateway.networking.k8s.io/gatewayclasses list", "gateway.networking.k8s.io/gateways list",
		"gateway.networking.k8s.io/httproutes list", "gateway.networking.k8s.io/grpcroutes list",
		"gateway.networking.k8s.io/tlsroutes list", "gateway.networking.k8s.io/tcproutes list",
		"monitoring.coreos.com/servicemonitors list", "monitoring.coreos.com/podmonitors list")
	return out
}

// docs/rbac/harden-audit.yaml grants every read harden makes (a full
// audit, no unread line) and no resource it does not read.
func TestAuditRoleCoversEveryRead(t *testing.T) {
	b, err := os.ReadFile("../../docs/rbac/harden-audit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, rule := range role.Rules {
		for _, g := range rule.APIGroups {
			for _, r := range rule.Resources {
				for _, v := range rule.Verbs {
					granted[g+"/"+r+" "+v] = true
				}
			}
		}
	}
	needed := reads()
	for _, r := range needed {
		if !granted[r] {
			t.Errorf("harden-audit.yaml does not grant %s", r)
		}
	}
	for g := range granted {
		res := g[:len(g)-len(" get")]
		if g[len(g)-4:] == "list" {
			res = g[:len(g)-len(" list")]
		}
		if !slices.ContainsFunc(needed, func(n string) bool { return n == res+" list" || n == res+" get" }) {
			t.Errorf("harden-audit.yaml grants %s, which harden never reads", g)
		}
		if g[len(g)-4:] != "list" && g[len(g)-3:] != "get" {
			t.Errorf("harden-audit.yaml grants %s: read-only means get and list", g)
		}
	}
}
