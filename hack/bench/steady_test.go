package main

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func kwokNode(name string) *corev1.Node {
	list := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("110")}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Capacity: list.DeepCopy(), Allocatable: list}}
}

// At make bench's scale only the pods are raised; at the sweep's top the
// CPU and memory the pods request must fit too.
func TestEnsurePodCapacity(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		pods          int
		cpu, mem, max string
	}{
		{pods: 3280, cpu: "32", mem: "256Gi", max: "1750"},
		{pods: 30400, cpu: "153", mem: "476Gi", max: "15310"},
	} {
		c := fake.NewSimpleClientset(kwokNode("a"), kwokNode("b"), kwokNode("c"))
		l, _ := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err := ensurePodCapacity(ctx, c, l.Items, tc.pods); err != nil {
			t.Fatal(err)
		}
		n, _ := c.CoreV1().Nodes().Get(ctx, "a", metav1.GetOptions{})
		a := n.Status.Allocatable
		if a.Cpu().Cmp(resource.MustParse(tc.cpu)) != 0 || a.Memory().Cmp(resource.MustParse(tc.mem)) != 0 || a.Pods().Cmp(resource.MustParse(tc.max)) != 0 {
			t.Errorf("%d pods: allocatable cpu %s, memory %s, pods %s; want %s, %s, %s", tc.pods, a.Cpu(), a.Memory(), a.Pods(), tc.cpu, tc.mem, tc.max)
		}
	}
}
