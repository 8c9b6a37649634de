package inspect

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file reads what the Prometheus Operator scrapes (the network-policy
// rule: its scrapers must stay admitted): the cluster's ServiceMonitors
// and PodMonitors (monitoring.coreos.com/v1), through the REST client, when
// the cluster serves them.

// MonitoringGroup is the Prometheus Operator's API group.
const MonitoringGroup = "monitoring.coreos.com"

// Monitor is a ServiceMonitor or a PodMonitor, reduced to what it scrapes.
type Monitor struct {
	Kind, Namespace, Name string
	// AnyNamespace and Namespaces are its spec.namespaceSelector: any
	// namespace, or those named; neither means its own namespace.
	AnyNamespace bool
	Namespaces   []string
	// Selector selects Services (ServiceMonitor) or pods (PodMonitor) by
	// their labels.
	Selector metav1.LabelSelector
	// Ports are the endpoints' ports: a Service port's name
	// (ServiceMonitor endpoints[].port), a container port's name (PodMonitor
	// podMetricsEndpoints[].port), or a pod port by number or name
	// (endpoints[].targetPort, podMetricsEndpoints[].portNumber).
	Ports []MonitorPort
}

// MonitorPort is one scraped port: ServicePort names a Service port; else
// Pod is the pod's port (a number, or a container port's name).
type MonitorPort struct {
	ServicePort string
	Pod         intstr.IntOrString
}

// Watches reports whether the monitor looks at the namespace.
func (m Monitor) Watches(namespace string) bool {
	if m.AnyNamespace {
		return true
	}
	if len(m.Namespaces) > 0 {
		for _, n := range m.Namespaces {
			if n == namespace {
				return true
			}
		}
		return false
	}
	return m.Namespace == namespace
}

// readMonitors lists the cluster's ServiceMonitors and PodMonitors into
// c.Traffic.Monitors when groups serves monitoring.coreos.com/v1: empty
// when it is not served, nil (not known, recorded in unread) when the user may not list them.
func (r *Reader) readMonitors(ctx context.Context, c *Cluster, groups *metav1.APIGroupList, unread *unreadLog) error {
	c.Traffic.Monitors = []Monitor{}
	served := false
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			served = served || v.GroupVersion == MonitoringGroup+"/v1"
		}
	}
	if !served || r.rest() == nil {
		return nil
	}
	for _, kind := range []string{"ServiceMonitor", "PodMonitor"} {
		rr := RouteResource{Kind: kind, GroupVersion: MonitoringGroup + "/v1", Resource: map[string]string{"ServiceMonitor": "servicemonitors", "PodMonitor": "podmonitors"}[kind]}
		l, err := r.listREST(ctx, rr, "", metav1.ListOptions{})
		if unread.tolerate("list", rr.Resource, err, true) {
			c.Traffic.Monitors = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing %s: %w", rr.Resource, err)
		}
		c.Traffic.Monitors = append(c.Traffic.Monitors, Monitors(kind, l.Items)...)
	}
	return nil
}

// Monitors reduces ServiceMonitors or PodMonitors (kind) to Monitors; one
// whose selector does not decode is left out (the operator rejects it too).
func Monitors(kind string, items []unstructured.Unstructured) []Monitor {
	var out []Monitor
	for _, u := range items {
		m := Monitor{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName()}
		m.AnyNamespace, _, _ = unstructured.NestedBool(u.Object, "spec", "namespaceSelector", "any")
		m.Namespaces, _, _ = unstructured.NestedStringSlice(u.Object, "spec", "namespaceSelector", "matchNames")
		sel, _, _ := unstructured.NestedMap(u.Object, "spec", "selector")
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &m.Selector); err != nil {
			continue
		}
		field := "endpoints"
		if kind == "PodMonitor" {
			field = "podMetricsEndpoints"
		}
		endpoints, _, _ := unstructured.NestedSlice(u.Object, "spec", field)
		for _, e := range endpoints {
			em := asMap(e)
			switch {
			case kind == "ServiceMonitor" && str(em, "port") != "":
				m.Ports = append(m.Ports, MonitorPort{ServicePort: str(em, "port")})
			case kind == "PodMonitor" && str(em, "port") != "":
				m.Ports = append(m.Ports, MonitorPort{Pod: intstr.FromString(str(em, "port"))})
			case em["portNumber"] != nil:
				n, _, _ := unstructured.NestedInt64(em, "portNumber")
				m.Ports = append(m.Ports, MonitorPort{Pod: intstr.FromInt32(int32(n))})
			case em["targetPort"] != nil:
				if n, ok, _ := unstructured.NestedInt64(em, "targetPort"); ok {
					m.Ports = append(m.Ports, MonitorPort{Pod: intstr.FromInt32(int32(n))})
				} else {
					m.Ports = append(m.Ports, MonitorPort{Pod: intstr.FromString(str(em, "targetPort"))})
				}
			}
		}
		out = append(out, m)
	}
	return out
}
