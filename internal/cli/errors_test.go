package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
)

func TestExplain(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:1/api?timeout=32s", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, "cannot reach the Kubernetes API server at https://127.0.0.1:1: connection refused (is the cluster running, and is --context/--kubeconfig right?)"},
		{fmt.Errorf("listing nodes: %w", refused), "cannot reach the Kubernetes API server at https://127.0.0.1:1: connection refused (is the cluster running, and is --context/--kubeconfig right?)"},
		{&apply.TxError{Failed: "shop/networkpolicy.networking.k8s.io/web", Err: refused, Undone: []string{"shop/deployment.apps/web"}, UndoErr: refused, Command: "kubectl harden undo deployment/web -n shop"},
			"writing shop/networkpolicy.networking.k8s.io/web: the API server refused the connection; undoing shop/deployment.apps/web failed too (the API server refused the connection): run kubectl harden undo deployment/web -n shop once the cluster answers"},
		{clientcmd.ErrEmptyConfig, "no kubeconfig found: set KUBECONFIG or pass --kubeconfig (or --server)"},
		{errors.New("first\nsecond\n"), "first; second"},
		{errors.New("error: already prefixed"), "already prefixed"},
	} {
		if got := Explain(tc.err); got != tc.want {
			t.Errorf("Explain(%v)\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}
