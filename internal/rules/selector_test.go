package rules

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// deployment is a live Deployment with this selector and these pod
// template labels.
func deployment(t *testing.T, name string, selector map[string]any, template map[string]any) *inspect.Workload {
	t.Helper()
	w, err := inspect.NewWorkload(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "shop", "uid": "uid-" + name},
		"spec": map[string]any{"replicas": int64(2), "selector": selector,
			"template": map[string]any{"metadata": map[string]any{"labels": template},
				"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": name + ":1"}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// livePod is a pod of a Deployment's ReplicaSet NAME-HASH, with the
// template's labels and the pod-template-hash label the ReplicaSet adds.
func livePod(deploy, hash string, template map[string]string) corev1.Pod {
	l := map[string]string{"pod-template-hash": hash}
	for k, v := range template {
		l[k] = v
	}
	yes := true
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: deploy + "-" + hash + "-x", Namespace: "shop", Labels: l,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: deploy + "-" + hash, Controller: &yes}}}}
}

func matchLabels(kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return map[string]any{"matchLabels": m}
}

// The example: web selects {app: shop}, its pods also carry
// tier: web; api's pods carry {app: shop, tier: api}.
func shop(t *testing.T, webTemplate map[string]any) (*inspect.Snapshot, *inspect.Workload) {
	web := deployment(t, "web", matchLabels("app", "shop"), webTemplate)
	api := deployment(t, "api", matchLabels("app", "shop", "tier", "api"), map[string]any{"app": "shop", "tier": "api"})
	s := &inspect.Snapshot{Workload: web, Cluster: &inspect.Cluster{},
		Neighbourhood: []inspect.Neighbour{inspect.WorkloadNeighbour(api), inspect.WorkloadNeighbour(web)}}
	return s, api
}

func TestOwnPodSelectorKeepsASelectorNoNeighbourShares(t *testing.T) {
	sel := map[string]any{"matchLabels": map[string]any{"app": "web"},
		"matchExpressions": []any{map[string]any{"key": "track", "operator": "NotIn", "values": []any{"canary"}}}}
	web := deployment(t, "web", sel, map[string]any{"app": "web", "track": "stable"})
	other := deployment(t, "cart", matchLabels("app", "cart"), map[string]any{"app": "cart"})
	canary := deployment(t, "web-canary", matchLabels("app", "web", "track", "canary"), map[string]any{"app": "web", "track": "canary"})
	s := &inspect.Snapshot{Workload: web, Neighbourhood: []inspect.Neighbour{
		inspect.WorkloadNeighbour(web), inspect.WorkloadNeighbour(other), inspect.WorkloadNeighbour(canary)}}
	got, err := OwnPodSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sel) {
		t.Errorf("selector %v, want the workload's own %v", got, sel)
	}
	// A copy: the caller's changes do not reach the live object.
	got["matchLabels"].(map[string]any)["app"] = "changed"
	if web.Object.Object["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"].(map[string]any)["app"] != "web" {
		t.Error("OwnPodSelector returned the live object's own map")
	}
	if w := NeighbourWarnings(s); w != nil {
		t.Errorf("warnings %q with every kind listed", w)
	}
}

func TestOwnPodSelectorNarrowsToTheTemplateLabels(t *testing.T) {
	s, api := shop(t, map[string]any{"app": "shop", "tier": "web"})
	// web's own live pods, and api's, as they run.
	s.Pods = []corev1.Pod{livePod("web", "5d8f", map[string]string{"app": "shop", "tier": "web"}),
		livePod("web", "5d8f", map[string]string{"app": "shop", "tier": "web"})}
	apiPods := []corev1.Pod{livePod("api", "77aa", map[string]string{"app": "shop", "tier": "api"})}
	s.Pods = append(s.Pods, apiPods...) // web's selector lists them too
	got, err := OwnPodSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := matchLabels("app", "shop", "tier", "web"); !reflect.DeepEqual(got, want) {
		t.Fatalf("selector %v, want %v", got, want)
	}
	sel := labels.SelectorFromSet(labels.Set{"app": "shop", "tier": "web"})
	for _, p := range s.Pods[:2] {
		if !sel.Matches(labels.Set(p.Labels)) {
			t.Errorf("own pod %s not selected", p.Name)
		}
	}
	for _, p := range apiPods {
		if sel.Matches(labels.Set(p.Labels)) {
			t.Errorf("%s's pod %s selected", api.Ref(), p.Name)
		}
	}
}

// Labels controllers add to pods (a DaemonSet's pod-template-generation
// here, copied into a template by hand) never make the selector.
func TestOwnPodSelectorLeavesControllerLabelsOut(t *testing.T) {
	s, _ := shop(t, map[string]any{"app": "shop", "tier": "web", "pod-template-generation": "3"})
	got, err := OwnPodSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := matchLabels("app", "shop", "tier", "web"); !reflect.DeepEqual(got, want) {
		t.Errorf("selector %v, want %v", got, want)
	}
}

func TestOwnPodSelectorNeedsHumanWhenNoLabelTellsThePodsApart(t *testing.T) {
	s, _ := shop(t, map[string]any{"app": "shop"})
	// A bare pod carrying every label of web's too.
	s.Neighbourhood = append(s.Neighbourhood, inspect.Neighbour{Ref: "pod/debug", Labels: map[string]string{"app": "shop", "run": "debug"}})
	_, err := OwnPodSelector(s)
	var human *NeedsHumanError
	if !errors.As(err, &human) {
		t.Fatalf("error %v, want NeedsHuman", err)
	}
	want := "pods of deployment/api, pod/debug carry every label of these pods (app=shop): give the pods a distinguishing label, e.g. app.kubernetes.io/component"
	if human.Reason != want {
		t.Errorf("reason %q, want %q", human.Reason, want)
	}
}

// The workload's own pods are never its neighbours, even seen as pods
// (when Deployments could not be listed); another workload's pods are.
func TestOwnPodSelectorOwnPodsAreNotNeighbours(t *testing.T) {
	web := deployment(t, "web", matchLabels("app", "shop"), map[string]any{"app": "shop", "tier": "web"})
	own := livePod("web", "5d8f", map[string]string{"app": "shop", "tier": "web"})
	ref := metav1.GetControllerOfNoCopy(&own)
	s := &inspect.Snapshot{Workload: web, NeighbourhoodUnread: []string{"deployments"},
		Neighbourhood: []inspect.Neighbour{{Ref: "pod/" + own.Name, Labels: own.Labels, Controller: ref}}}
	got, err := OwnPodSelector(s)
	if err != nil || !reflect.DeepEqual(got, matchLabels("app", "shop")) {
		t.Fatalf("selector %v, %v: want web's own", got, err)
	}
	w := NeighbourWarnings(s)
	if len(w) != 1 || !strings.Contains(w[0], "could not list deployments in namespace shop (forbidden)") {
		t.Errorf("warnings %q", w)
	}
	api := livePod("api", "77aa", map[string]string{"app": "shop", "tier": "api"})
	s.Neighbourhood = append(s.Neighbourhood, inspect.Neighbour{Ref: "pod/" + api.Name, Labels: api.Labels, Controller: metav1.GetControllerOfNoCopy(&api)})
	if got, err := OwnPodSelector(s); err != nil || !reflect.DeepEqual(got, matchLabels("app", "shop", "tier", "web")) {
		t.Errorf("with api's pod: selector %v, %v", got, err)
	}
}

// A pod of the workload still without a template label (a rollout that
// added it under way) would escape the narrower selector: needs-human.
func TestOwnPodSelectorRolloutUnderWay(t *testing.T) {
	s, _ := shop(t, map[string]any{"app": "shop", "tier": "web"})
	s.Pods = []corev1.Pod{livePod("web", "0ld0", map[string]string{"app": "shop"}), livePod("web", "5d8f", map[string]string{"app": "shop", "tier": "web"})}
	_, err := OwnPodSelector(s)
	var human *NeedsHumanError
	if !errors.As(err, &human) || !strings.Contains(human.Reason, "pod web-0ld0-x of this workload lacks some of app=shop,tier=web (a rollout under way?)") {
		t.Errorf("error %v", err)
	}
}

func TestSelectedNeighbours(t *testing.T) {
	s, _ := shop(t, map[string]any{"app": "shop", "tier": "web"})
	cases := []struct {
		sel  *metav1.LabelSelector
		want []string
	}{
		{&metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}}, []string{"deployment/api"}},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop", "tier": "web"}}, nil},
		{&metav1.LabelSelector{}, []string{"deployment/api"}}, // policy/v1: every pod
		{nil, nil},
	}
	for _, c := range cases {
		if got := SelectedNeighbours(s, c.sel); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v selects %v, want %v", c.sel, got, c.want)
		}
	}
}
