package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// The raw floor: the API server's own serving time of the audit's reads.
// It sends exactly the LIST requests `kubectl harden audit -A` sends (the
// same paths, pages, resourceVersions and parallelism, read off
// internal/inspect: Reader.Cluster, then Reader.EachNamespace), asks for
// protobuf and throws the bytes away, decoding nothing but each page's
// continue token. The bench checks the match through its counting proxy
// (proxy.go): the audit's LISTs and the floor's must be the same.

const protobufType = "application/vnd.kubernetes.protobuf"

// list is one LIST of the plan: a path and how it is read.
type list struct {
	resource string
	path     string // e.g. /apis/apps/v1/deployments
	// cached LISTs carry resourceVersion=0 and no limit, as Reader.Cluster
	// sends them (served from the watch cache, in one page); whole ones
	// carry neither (the APIServices); the others are paginated with
	// limit=chunk, as Reader.EachNamespace's are.
	cached, whole bool
}

// clusterPhase is Reader.Cluster: each inner slice is one goroutine of its
// errgroup, its LISTs one after another (readTrafficCluster reads the
// namespaces, the API server's callers, then the IngressClasses). The
// discovery request and the Gateway API and monitoring reads (only when the
// cluster serves those groups) are not LISTs of the plan.
var clusterPhase = [][]list{
	{
		{resource: "namespaces", path: "/api/v1/namespaces", cached: true},
		{resource: "validatingwebhookconfigurations", path: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", cached: true},
		{resource: "mutatingwebhookconfigurations", path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", cached: true},
		// Read through the REST client with neither limit nor
		// resourceVersion.
		{resource: "apiservices", path: "/apis/apiregistration.k8s.io/v1/apiservices", whole: true},
		{resource: "ingressclasses", path: "/apis/networking.k8s.io/v1/ingressclasses", cached: true},
	},
	{{resource: "nodes", path: "/api/v1/nodes", cached: true}},
	{{resource: "priorityclasses", path: "/apis/scheduling.k8s.io/v1/priorityclasses", cached: true}},
	{{resource: "clusterrolebindings", path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", cached: true}},
}

// namespacePhase is Reader.EachNamespace with the audit's default kinds:
// every LIST at once, each paged through on its own.
var namespacePhase = []list{
	{resource: "namespaces", path: "/api/v1/namespaces"},
	{resource: "deployments", path: "/apis/apps/v1/deployments"},
	{resource: "statefulsets", path: "/apis/apps/v1/statefulsets"},
	{resource: "daemonsets", path: "/apis/apps/v1/daemonsets"},
	{resource: "cronjobs", path: "/apis/batch/v1/cronjobs"},
	{resource: "jobs", path: "/apis/batch/v1/jobs"},
	{resource: "pods", path: "/api/v1/pods"},
	{resource: "poddisruptionbudgets", path: "/apis/policy/v1/poddisruptionbudgets"},
	{resource: "services", path: "/api/v1/services"},
	{resource: "horizontalpodautoscalers", path: "/apis/autoscaling/v2/horizontalpodautoscalers"},
	{resource: "networkpolicies", path: "/apis/networking.k8s.io/v1/networkpolicies"},
	{resource: "limitranges", path: "/api/v1/limitranges"},
	{resource: "resourcequotas", path: "/api/v1/resourcequotas"},
	{resource: "rolebindings", path: "/apis/rbac.authorization.k8s.io/v1/rolebindings"},
	{resource: "serviceaccounts", path: "/api/v1/serviceaccounts"},
	{resource: "leases", path: "/apis/coordination.k8s.io/v1/leases"},
	{resource: "persistentvolumeclaims", path: "/api/v1/persistentvolumeclaims"},
	{resource: "ingresses", path: "/apis/networking.k8s.io/v1/ingresses"},
}

// listed is what the floor read of one resource.
type listed struct {
	Pages int   `json:"pages"`
	Items int   `json:"items"`
	Bytes int64 `json:"bytes"` // response bodies, as decoded by the HTTP client (gzip undone)
}

// rawFloor sends the plan through rc, chunk objects per page, and returns
// what it read per resource (the namespaces' two reads summed). With
// decode, each page is also decoded into its typed list, as client-go
// does for every Go client (the decode floor).
func rawFloor(ctx context.Context, rc rest.Interface, chunk int64, decode bool) (map[string]*listed, error) {
	out := map[string]*listed{}
	var mu sync.Mutex
	record := func(resource string, items int, bytes int64) {
		mu.Lock()
		defer mu.Unlock()
		l := out[resource]
		if l == nil {
			l = &listed{}
			out[resource] = l
		}
		l.Pages, l.Items, l.Bytes = l.Pages+1, l.Items+items, l.Bytes+bytes
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, chain := range clusterPhase {
		g.Go(func() error {
			for _, l := range chain {
				if err := readAll(gctx, rc, l, chunk, decode, record); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	g, gctx = errgroup.WithContext(ctx)
	for _, l := range namespacePhase {
		g.Go(func() error { return readAll(gctx, rc, l, chunk, decode, record) })
	}
	return out, g.Wait()
}

// readAll pages through one LIST, decoding each page when decode is set;
// record is called once per page.
func readAll(ctx context.Context, rc rest.Interface, l list, chunk int64, decode bool, record func(string, int, int64)) error {
	cont := ""
	for {
		req := rc.Get().AbsPath(l.path).SetHeader("Accept", protobufType)
		switch {
		case l.cached:
			req = req.Param("resourceVersion", "0")
		case !l.whole:
			req = req.Param("limit", strconv.FormatInt(chunk, 10))
		}
		if cont != "" {
			req = req.Param("continue", cont)
		}
		body, err := req.Do(ctx).Raw()
		if err != nil {
			return fmt.Errorf("listing %s: %w", l.resource, err)
		}
		next, items, err := listPage(body)
		if err != nil {
			return fmt.Errorf("listing %s: %w", l.resource, err)
		}
		if decode {
			// client-go's scheme has no APIService (a few objects).
			if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil); err != nil && !runtime.IsNotRegisteredError(err) {
				return fmt.Errorf("decoding %s: %w", l.resource, err)
			}
		}
		record(l.resource, items, int64(len(body)))
		if l.cached || l.whole || next == "" {
			return nil
		}
		cont = next
	}
}

// protobufMagic starts every protobuf response of the API server; a
// runtime.Unknown follows (k8s.io/apimachinery/pkg/runtime/serializer/protobuf).
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// listPage reads a protobuf LIST response's continue token and counts its
// items without decoding them: the envelope runtime.Unknown holds the list
// in its field 2 (raw); a list holds its ListMeta in field 1 (continue is
// ListMeta's field 3) and its items in field 2.
func listPage(body []byte) (cont string, items int, err error) {
	if len(body) < len(protobufMagic) || string(body[:4]) != string(protobufMagic) {
		return "", 0, fmt.Errorf("the response is not protobuf (%d bytes)", len(body))
	}
	raw, err := field(body[4:], 2)
	if err != nil {
		return "", 0, fmt.Errorf("the envelope: %w", err)
	}
	err = eachField(raw, func(num protowire.Number, v []byte) error {
		switch num {
		case 1:
			c, err := field(v, 3)
			cont = string(c)
			return err
		case 2:
			items++
		}
		return nil
	})
	return cont, items, err
}

// field returns the bytes of the last length-delimited field num of msg
// (nil when absent).
func field(msg []byte, num protowire.Number) ([]byte, error) {
	var out []byte
	err := eachField(msg, func(n protowire.Number, v []byte) error {
		if n == num {
			out = v
		}
		return nil
	})
	return out, err
}

// eachField calls fn with every length-delimited field of msg, skipping
// the others.
func eachField(msg []byte, fn func(protowire.Number, []byte) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return protowire.ParseError(n)
		}
		msg = msg[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, msg); n < 0 {
				return protowire.ParseError(n)
			}
			msg = msg[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(msg)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if err := fn(num, v); err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

// runRaw is the bench's -raw mode: the raw floor (or with decode the
// decode floor) against $KUBECONFIG, printing what it read as JSON.
func runRaw(ctx context.Context, cfg *rest.Config, chunk int64, decode bool, w io.Writer) error {
	rc, err := rawClient(cfg)
	if err != nil {
		return err
	}
	got, err := rawFloor(ctx, rc, chunk, decode)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(got)
}
