package apply

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/watchlist"
	"k8s.io/kubectl/pkg/polymorphichelpers"
)

// PodLister lists and watches the pods of one namespace: the rollout watch
// follows a workload's pods with it, and the explanations of a held or
// rolled-back rollout (pods on the old revision, pods stuck on the failed
// one) list them. opts carry the label selector.
type PodLister interface {
	List(ctx context.Context, namespace string, opts metav1.ListOptions) (*unstructured.UnstructuredList, error)
	Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
}

// DynamicPods is a PodLister reading core/v1 pods with a dynamic client:
// the Applier's own when its Pods field is nil.
type DynamicPods struct{ Client dynamic.Interface }

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// List lists the namespace's pods.
func (p DynamicPods) List(ctx context.Context, namespace string, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return p.Client.Resource(podsResource).Namespace(namespace).List(ctx, opts)
}

// Watch watches the namespace's pods.
func (p DynamicPods) Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return p.Client.Resource(podsResource).Namespace(namespace).Watch(ctx, opts)
}

// IsWatchListSemanticsUnSupported passes on the client's answer, so that
// a reflector over these pods streams its initial list only when the
// client can (client-go's fake clients cannot).
func (p DynamicPods) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(p.Client)
}

// pods is the Applier's PodLister: Pods, or its Client's pods.
func (a *Applier) pods() PodLister {
	if a.Pods != nil {
		return a.Pods
	}
	return DynamicPods{Client: a.Client}
}

// typedPods converts unstructured pods to core/v1 pods.
func typedPods(items []unstructured.Unstructured) ([]corev1.Pod, error) {
	out := make([]corev1.Pod, len(items))
	for i := range items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(items[i].Object, &out[i]); err != nil {
			return nil, fmt.Errorf("pod %s: %w", items[i].GetName(), err)
		}
	}
	return out, nil
}

// viewer is the rollout status viewer of kind gk: StatusViewer's, or
// kubectl rollout status' own (polymorphichelpers.StatusViewerFor).
func (a *Applier) viewer(gk schema.GroupKind) (polymorphichelpers.StatusViewer, error) {
	if a.StatusViewer != nil {
		return a.StatusViewer(gk)
	}
	return polymorphichelpers.StatusViewerFor(gk)
}
