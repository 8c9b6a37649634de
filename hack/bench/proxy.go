package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// counter is a reverse proxy on loopback (plain HTTP) that forwards to the
// API server with the bench's credentials and counts what passes: the
// requests and the bytes of the responses' bodies as the API server sent
// them (gzip-compressed when it compressed them). A command pointed at it
// (its kubeconfig) is counted in a run of its own, never a timed one.
type counter struct {
	server     *http.Server
	kubeconfig string // a kubeconfig whose only context is the proxy

	mu  sync.Mutex
	log []request
}

// request is one request that went through the proxy.
type request struct {
	method, path string
	query        url.Values
	bytes        int64
}

// list says whether the request is a LIST: a GET of a collection (its last
// path segment is a resource name, which the request's query marks with
// limit or resourceVersion, or which is a known plural).
func (r request) list() bool {
	return r.method == http.MethodGet && (r.query.Has("limit") || r.query.Has("resourceVersion") || isCollection(r.path))
}

// key is what identifies a LIST across two programs: its path and query,
// the continue token's value (it differs from run to run) left out, and
// the timeout client-go's typed clients add (how long the server may
// take, not what it serves).
func (r request) key() string {
	q := url.Values{}
	for k, v := range r.query {
		switch k {
		case "continue":
			v = []string{"…"}
		case "timeout":
			continue
		}
		q[k] = v
	}
	return r.path + "?" + q.Encode()
}

// isCollection says whether path ends with a resource of the raw floor's
// plan (a collection, not one object).
func isCollection(path string) bool {
	for _, l := range allLists() {
		if path == l.path {
			return true
		}
	}
	return false
}

func allLists() []list {
	var out []list
	for _, chain := range clusterPhase {
		out = append(out, chain...)
	}
	return append(out, namespacePhase...)
}

// startCounter starts the proxy in front of cfg's API server and writes
// its kubeconfig into dir.
func startCounter(cfg *rest.Config, dir string) (*counter, error) {
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &counter{kubeconfig: filepath.Join(dir, "counted.kubeconfig")}
	proxy := &httputil.ReverseProxy{Transport: rt, Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	c.server = &http.Server{Handler: c.count(proxy)}
	go c.server.Serve(ln) //nolint:errcheck // ends with Close
	kc := clientcmdapi.NewConfig()
	kc.Clusters["counted"] = &clientcmdapi.Cluster{Server: "http://" + ln.Addr().String()}
	kc.AuthInfos["counted"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["counted"] = &clientcmdapi.Context{Cluster: "counted", AuthInfo: "counted"}
	kc.CurrentContext = "counted"
	if err := clientcmd.WriteToFile(*kc, c.kubeconfig); err != nil {
		c.server.Close()
		return nil, err
	}
	return c, nil
}

func (c *counter) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		c.mu.Lock()
		c.log = append(c.log, request{method: r.Method, path: r.URL.Path, query: r.URL.Query(), bytes: cw.n})
		c.mu.Unlock()
	})
}

// take returns the requests counted since the last take and forgets them.
func (c *counter) take() []request {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.log
	c.log = nil
	return out
}

func (c *counter) Close() error {
	os.Remove(c.kubeconfig)
	return c.server.Close()
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Flush keeps watch and streaming responses flowing through the proxy.
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// traffic sums a counted run: its requests, LISTs and bytes.
type traffic struct {
	requests, lists int
	bytes           int64
	listKeys        []string // sorted
	pages           map[string]int
}

func trafficOf(log []request) traffic {
	t := traffic{requests: len(log), pages: map[string]int{}}
	for _, r := range log {
		t.bytes += r.bytes
		if r.list() {
			t.lists++
			t.listKeys = append(t.listKeys, r.key())
			t.pages[r.path]++
		}
	}
	sort.Strings(t.listKeys)
	return t
}

// sameLists compares two runs' LISTs; "" when they are the same, else the
// first difference.
func sameLists(a, b traffic) string {
	for i := 0; i < max(len(a.listKeys), len(b.listKeys)); i++ {
		var x, y string
		if i < len(a.listKeys) {
			x = a.listKeys[i]
		}
		if i < len(b.listKeys) {
			y = b.listKeys[i]
		}
		if x != y {
			return fmt.Sprintf("%q ≠ %q", x, y)
		}
	}
	return ""
}

// expectedPages is kinds × pages: for each LIST of the plan, one page when
// it is served from the watch cache, else ⌈items ÷ chunk⌉ (at least one),
// from the items the raw floor counted. The namespaces are read twice.
func expectedPages(read map[string]*listed, chunk int) (int, error) {
	total := 0
	for _, l := range allLists() {
		r := read[l.resource]
		if r == nil {
			return 0, fmt.Errorf("the raw floor did not read %s", l.resource)
		}
		items := r.Items
		if l.resource == "namespaces" {
			items /= 2 // both reads counted them
		}
		if l.cached || l.whole {
			total++
		} else {
			total += max(1, (items+chunk-1)/chunk)
		}
	}
	return total, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, strings.TrimSuffix(what, "s"))
	}
	return fmt.Sprintf("%d %s", n, what)
}
