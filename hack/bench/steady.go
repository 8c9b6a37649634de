package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// kwokNodes are the local cluster's fake nodes.
func kwokNodes(ctx context.Context, c kubernetes.Interface) ([]corev1.Node, error) {
	l, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []corev1.Node
	for _, n := range l.Items {
		if n.Annotations["kwok.x-k8s.io/node"] == "fake" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no kwok node: is this the local cluster of hack/cluster-up.sh?")
	}
	return out, nil
}

// ensurePodCapacity raises the fake nodes' pod capacity (110, as a kubelet's
// default) so that every bench pod can run, and their CPU and memory (32
// cores, 256 GiB: hack/cluster-up.sh) when the pods' requests would not fit
// (at most 10m and 32 Mi a pod, one core and 1 GiB spare): kwok nodes cost
// nothing, and pods left Pending would keep the scheduler busy while the
// bench measures. Beyond ~15,000 pods on 3 nodes the CPU is what ran out
// (543 pods Pending); at `make bench`'s scale nothing but pods is raised.
func ensurePodCapacity(ctx context.Context, c kubernetes.Interface, nodes []corev1.Node, pods int) error {
	// 1.5×: the scheduler does not spread pods perfectly evenly.
	per := int64(pods * 3 / (2 * len(nodes)))
	want := map[corev1.ResourceName]resource.Quantity{
		corev1.ResourcePods:   *resource.NewQuantity(110+per, resource.DecimalSI),
		corev1.ResourceCPU:    *resource.NewMilliQuantity(1000+per*10, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity((1<<30)+per*(32<<20), resource.BinarySI),
	}
	for _, n := range nodes {
		raise := map[string]string{}
		for name, q := range want {
			if have, ok := n.Status.Allocatable[name]; !ok || have.Cmp(q) < 0 {
				raise[string(name)] = q.String()
			}
		}
		if len(raise) == 0 {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"capacity": raise, "allocatable": raise}})
		if _, err := c.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			return fmt.Errorf("raising the capacity of node %s: %w", n.Name, err)
		}
	}
	return nil
}

// waitSteady waits until every bench workload has all its pods ready: the
// controllers and the scheduler are then idle while the bench measures.
func waitSteady(ctx context.Context, c kubernetes.Interface, namespaces []string, m mix, nodes int, timeout time.Duration) error {
	ours := map[string]bool{}
	for _, ns := range namespaces {
		ours[ns] = true
	}
	start := time.Now()
	sel := metav1.ListOptions{LabelSelector: benchLabel + "=true"}
	last := time.Time{}
	status := ""
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		deps, err := c.AppsV1().Deployments("").List(ctx, sel)
		if err != nil {
			return false, err
		}
		stss, err := c.AppsV1().StatefulSets("").List(ctx, sel)
		if err != nil {
			return false, err
		}
		dss, err := c.AppsV1().DaemonSets("").List(ctx, sel)
		if err != nil {
			return false, err
		}
		// Bench namespaces of an earlier, larger run are not waited for.
		want := len(namespaces) * m.pods(nodes)
		ready, nd, ns, nds := 0, 0, 0, 0
		for _, d := range deps.Items {
			if ours[d.Namespace] {
				ready, nd = ready+int(d.Status.ReadyReplicas), nd+1
			}
		}
		for _, s := range stss.Items {
			if ours[s.Namespace] {
				ready, ns = ready+int(s.Status.ReadyReplicas), ns+1
			}
		}
		for _, d := range dss.Items {
			if ours[d.Namespace] {
				ready, nds = ready+int(d.Status.NumberReady), nds+1
			}
		}
		status = fmt.Sprintf("%d of %d bench pods ready", ready, want)
		if time.Since(last) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "bench: %s\n", status)
			last = time.Now()
		}
		n := len(namespaces)
		return ready == want && nd == n*m.deployments && ns == n*m.statefulSets && nds == n*m.daemonSets, nil
	})
	if err != nil {
		return fmt.Errorf("the cluster did not settle in %s (%s): %w", timeout, status, err)
	}
	fmt.Fprintf(os.Stderr, "bench: steady after %s (%s)\n", time.Since(start).Round(time.Second), status)
	return nil
}
