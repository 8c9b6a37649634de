package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

func podList(n int, cont string) *corev1.PodList {
	l := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"},
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: cont}}
	for i := range n {
		l.Items = append(l.Items, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns",
			Labels: map[string]string{"app": "x"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}})
	}
	return l
}

func TestListPageReadsContinueAndCountsItems(t *testing.T) {
	for _, tc := range []struct {
		items int
		cont  string
	}{{0, ""}, {3, "next-page-token"}, {500, ""}} {
		cont, items, err := listPage(encodeList(podList(tc.items, tc.cont)))
		if err != nil {
			t.Fatal(err)
		}
		if cont != tc.cont || items != tc.items {
			t.Errorf("got continue %q and %d items, want %q and %d", cont, items, tc.cont, tc.items)
		}
	}
	if _, _, err := listPage([]byte(`{"kind":"PodList"}`)); err == nil {
		t.Error("a JSON body was read as protobuf")
	}
	if _, _, err := listPage(append(slices.Clone(protobufMagic), 0x12, 0x7f)); err == nil {
		t.Error("a truncated body was read")
	}
}

// The plan lists every resource the audit lists (inspect.ListedResources),
// and the namespaces twice (Reader.Cluster, Reader.EachNamespace).
func TestPlanListsWhatTheAuditLists(t *testing.T) {
	count := map[string]int{}
	for _, l := range allLists() {
		count[l.resource]++
		if !strings.HasSuffix(l.path, "/"+l.resource) {
			t.Errorf("%s: path %s", l.resource, l.path)
		}
	}
	for _, r := range inspect.ListedResources {
		want := 1
		if r == "namespaces" {
			want = 2
		}
		if count[r] != want {
			t.Errorf("%s: listed %d times, the audit lists it %d", r, count[r], want)
		}
		delete(count, r)
	}
	// apiservices: read through the REST client, not in ListedResources.
	delete(count, "apiservices")
	if len(count) != 0 {
		t.Errorf("the plan lists what the audit does not: %v", count)
	}
}

// fakeAPI serves every LIST of the plan in protobuf: pods in pages of the
// requested limit, other kinds empty. It records the queries.
type fakeAPI struct {
	pods int
	mu   sync.Mutex
	log  []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if r.Header.Get("Accept") != protobufType {
		http.Error(w, "protobuf only", http.StatusNotAcceptable)
		return
	}
	w.Header().Set("Content-Type", protobufType)
	if r.URL.Path != "/api/v1/pods" {
		w.Write(encodeList(podList(0, ""))) //nolint:errcheck
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	from, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	n, cont := min(limit, f.pods-from), ""
	if from+n < f.pods {
		cont = strconv.Itoa(from + n)
	}
	w.Write(encodeList(podList(n, cont))) //nolint:errcheck
}

// encodeList writes obj as the API server does in protobuf.
func encodeList(obj runtime.Object) []byte {
	var buf bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(obj, &buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestRawFloorSendsTheAuditsRequests(t *testing.T) {
	api := &fakeAPI{pods: 1234}
	srv := httptest.NewServer(api)
	defer srv.Close()
	rc, err := rawClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	read, err := rawFloor(context.Background(), rc, 500, false)
	if err != nil {
		t.Fatal(err)
	}
	if p := read["pods"]; p == nil || p.Pages != 3 || p.Items != 1234 || p.Bytes == 0 {
		t.Errorf("pods: %+v, want 3 pages of 1234 items", p)
	}
	want := []string{
		"/api/v1/pods?limit=500", "/api/v1/pods?continue=500&limit=500", "/api/v1/pods?continue=1000&limit=500",
		"/api/v1/nodes?resourceVersion=0", "/api/v1/namespaces?resourceVersion=0", "/api/v1/namespaces?limit=500",
		"/apis/apiregistration.k8s.io/v1/apiservices?",
	}
	for _, w := range want {
		if !slices.Contains(api.log, w) {
			t.Errorf("no request %s in %q", w, api.log)
		}
	}
	if n, want := len(api.log), len(allLists())+2; n != want {
		t.Errorf("%d requests, want %d (one per LIST, pods' two more pages)", n, want)
	}
	if got, err := expectedPages(read, 500); err != nil || got != len(api.log) {
		t.Errorf("kinds × pages: %d (%v), want the %d requests sent", got, err, len(api.log))
	}
}
