package cli

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// serviceAccountToken is where the kubelet mounts a pod's ServiceAccount
// token; client-go's in-cluster config (rest.InClusterConfig) reads this
// fixed path, with ca.crt beside it. A variable for tests.
var serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// NoTokenError is a pod (KUBERNETES_SERVICE_HOST set) without a kubeconfig
// whose ServiceAccount token is not mounted: client-go would fall back to
// "no kubeconfig found", which misleads inside a pod.
type NoTokenError struct{ Path string }

func (e *NoTokenError) Error() string {
	return fmt.Sprintf("in a pod (KUBERNETES_SERVICE_HOST is set) with no kubeconfig and no ServiceAccount token at %s: "+
		"set automountServiceAccountToken: true on the pod or its ServiceAccount, or pass --kubeconfig (or --server and --token)", e.Path)
}

// requireConfig refuses to fall back to client-go's default of
// http://localhost:8080 when there is no kubeconfig at all: that only ends in
// a confusing "connection refused". A config is there when the kubeconfig
// names a cluster, --server is given, or client-go's in-cluster config
// applies — the same test as clientcmd's: KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT set (the kubelet sets both in every container)
// and the ServiceAccount token mounted. Errors: clientcmd.ErrEmptyConfig
// (explained as "no kubeconfig found"), or *NoTokenError in a pod without
// its token.
func requireConfig(raw clientcmdapi.Config, flags *genericclioptions.ConfigFlags) error {
	if len(raw.Clusters) > 0 {
		return nil
	}
	if flags.APIServer != nil && *flags.APIServer != "" {
		return nil
	}
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return clientcmd.ErrEmptyConfig
	}
	if fi, err := os.Stat(serviceAccountToken); err != nil || fi.IsDir() || os.Getenv("KUBERNETES_SERVICE_PORT") == "" {
		return &NoTokenError{Path: serviceAccountToken}
	}
	return nil
}
