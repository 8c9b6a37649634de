package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
)

func TestFleetContexts(t *testing.T) {
	known := map[string]bool{"prod": true, "dev": true, "arn:aws:eks:eu-west-1:1:cluster/x": true}
	for _, tc := range []struct {
		list string
		all  bool
		want []string
		err  string
	}{
		{list: "prod,dev", want: []string{"prod", "dev"}},
		{list: "dev, prod,dev", want: []string{"dev", "prod"}},
		{list: "prod,arn:aws:eks:eu-west-1:1:cluster/x", want: []string{"prod", "arn:aws:eks:eu-west-1:1:cluster/x"}},
		{all: true, want: []string{"arn:aws:eks:eu-west-1:1:cluster/x", "dev", "prod"}},
		{list: "prod,,dev", err: `--context "prod,,dev": an empty context name`},
		{list: "prod,", err: "an empty context name"},
		{list: "prod,stage", err: `context "stage" not found in the kubeconfig`},
	} {
		got, err := fleetContexts(tc.list, tc.all, known)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.list, err, tc.err)
		case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("%q all=%v: %v, %v; want %v", tc.list, tc.all, got, err, tc.want)
		}
	}
}

// Each cluster's flags are the user's in every field but Context: a field
// cli-runtime adds is caught here rather than silently dropped.
func TestContextFlagsCopiesEveryFlag(t *testing.T) {
	base := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag()
	ns, kc := "shop", "/tmp/kubeconfig"
	base.Namespace, base.KubeConfig = &ns, &kc
	base.WrapConfigFn = nil
	c := contextFlags(base, "prod", genericiooptions.NewTestIOStreamsDiscard())
	if *c.Context != "prod" || *base.Context != "" {
		t.Errorf("context %q (base %q)", *c.Context, *base.Context)
	}
	bv, cv := reflect.ValueOf(base).Elem(), reflect.ValueOf(c).Elem()
	for i := range bv.NumField() {
		f := bv.Type().Field(i)
		if !f.IsExported() || f.Name == "Context" {
			continue
		}
		if f.Type.Kind() == reflect.Func {
			if !bv.Field(i).IsNil() || !cv.Field(i).IsNil() {
				t.Errorf("%s: not copied", f.Name)
			}
			continue
		}
		if bv.Field(i).Interface() != cv.Field(i).Interface() {
			t.Errorf("%s: not the user's flag", f.Name)
		}
	}
}

// kubeconfig writes a kubeconfig whose contexts all point at a port
// nobody listens on, and returns its path.
func closedKubeconfig(t *testing.T, contexts ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n- name: closed\n  cluster: {server: \"https://" + addr + "\", insecure-skip-tls-verify: true}\n")
	b.WriteString("users:\n- name: u\n  user: {token: t}\ncontexts:\n")
	for _, c := range contexts {
		b.WriteString("- name: " + c + "\n  context: {cluster: closed, user: u}\n")
	}
	b.WriteString("current-context: " + contexts[0] + "\n")
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func execute(args ...string) (code int, stdout, stderr string) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code = Execute(streams, args)
	return code, out.String(), errOut.String()
}

// Two unreachable clusters: each is reported as not audited, in every
// format, and the audit exits 2; one --context keeps today's
// single-cluster audit and its error.
func TestFleetUnreachable(t *testing.T) {
	kc := closedKubeconfig(t, "one", "two", "three")
	code, out, errOut := execute("audit", "--kubeconfig", kc, "--context", "one,two", "-o", "json")
	if code != ExitError {
		t.Errorf("exit %d, want 2; stderr %s", code, errOut)
	}
	var doc report.FleetReport
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if doc.Kind != report.FleetListKind || len(doc.Items) != 2 || doc.Items[0].Cluster != "one" || doc.Items[1].Cluster != "two" {
		t.Fatalf("items %+v", doc.Items)
	}
	for _, it := range doc.Items {
		if !it.Failed() || !strings.Contains(it.Error, "connection refused") {
			t.Errorf("%s: %q, want connection refused", it.Cluster, it.Error)
		}
	}
	if !strings.Contains(errOut, "error: cluster one not audited: cannot reach the Kubernetes API server") {
		t.Errorf("stderr %q", errOut)
	}

	code, out, _ = execute("audit", "--kubeconfig", kc, "--all-contexts")
	if code != ExitError || !strings.Contains(out, "cluster three: not audited: cannot reach") || !strings.Contains(out, "in 0 of 3 clusters") {
		t.Errorf("--all-contexts: exit %d\n%s", code, out)
	}

	code, out, errOut = execute("audit", "--kubeconfig", kc, "--context", "two", "-o", "json")
	if code != ExitError || out != "" || !strings.HasPrefix(errOut, "error: cannot reach the Kubernetes API server") {
		t.Errorf("one context: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// What a fleet audit refuses, each on one line, before reading anything.
func TestFleetRefusals(t *testing.T) {
	kc := closedKubeconfig(t, "one", "two")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--context", "one,nope"}, `error: --context: context "nope" not found in the kubeconfig`},
		{[]string{"--all-contexts", "--context", "one"}, "error: --all-contexts audits every context of the kubeconfig: leave out --context"},
		{[]string{"--context", "one,two", "--fix=pdb"}, "error: --fix changes one cluster at a time: run kubectl harden audit --context CONTEXT --fix=… for each of one, two"},
		{[]string{"--context", "one,two", "-o", "diff"}, "error: -o diff reads one cluster: with several contexts, -o must be one of table, json, yaml, sarif, junit, markdown, html"},
		{[]string{"--context", "one,two", "--server", "https://x"}, "error: --server picks one cluster or user for every context"},
		{[]string{"--context", "one,two", "-o", "bogus"}, "error: -o bogus reads one cluster"},
		{[]string{"--context", "one,two", "--publish"}, "error: --publish writes to one cluster: run kubectl harden audit --context CONTEXT --publish for each of one, two"},
	} {
		code, out, errOut := execute(append([]string{"audit", "--kubeconfig", kc}, tc.args...)...)
		if code != ExitError || out != "" || !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tc.args, code, out, errOut, tc.want)
		}
	}
	// Only the audit reads a list: elsewhere --context is kubectl's.
	code, _, errOut := execute("deploy/web", "--kubeconfig", kc, "--context", "one,two")
	if code != ExitError || !strings.Contains(errOut, "context was not found for specified context: one,two") {
		t.Errorf("harden --context one,two: exit %d, stderr %q", code, errOut)
	}
}

// The exit status: 2 when a cluster was not audited, whatever the others;
// else 1 when one fails the gate; else 0.
func TestFleetExit(t *testing.T) {
	clean := &audit.Report{Score: 100}
	pending := &audit.Report{Score: 60, Pending: audit.Counts{Low: 1}}
	o := &AuditOptions{MinScore: -1, IOStreams: genericiooptions.NewTestIOStreamsDiscard()}
	for _, tc := range []struct {
		items []report.FleetItem
		want  error
	}{
		{[]report.FleetItem{{Cluster: "a", Report: clean}, {Cluster: "b", Report: clean}}, nil},
		{[]report.FleetItem{{Cluster: "a", Report: clean}, {Cluster: "b", Report: pending}}, ExitCodeError(ExitFindings)},
		{[]report.FleetItem{{Cluster: "a", Report: clean}, {Cluster: "b", Error: "refused"}}, ExitCodeError(ExitError)},
		{[]report.FleetItem{{Cluster: "a", Report: pending}, {Cluster: "b", Error: "refused"}}, ExitCodeError(ExitError)},
	} {
		if got := o.fleetExit(tc.items); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.items, got, tc.want)
		}
	}
	// --min-score holds for each cluster.
	o.MinScore = 70
	if got := o.fleetExit([]report.FleetItem{{Cluster: "a", Report: clean}, {Cluster: "b", Report: pending}}); got != ExitCodeError(ExitFindings) {
		t.Errorf("--min-score 70 with a cluster at 60: %v", got)
	}
	var buf bytes.Buffer
	o.ErrOut, o.Output = &buf, "sarif"
	o.fleetExit([]report.FleetItem{{Cluster: "b\x1b[31m", Error: "refused"}})
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("a context name's escape reaches the terminal: %q", buf.String())
	}
}
