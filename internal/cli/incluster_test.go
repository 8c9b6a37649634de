package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestRequireConfig: a kubeconfig, --server or a pod's in-cluster config
// (both service variables and the token mounted) is a config; with none,
// "no kubeconfig found", and inside a pod without its token, a line that
// says so and how to mount it.
func TestRequireConfig(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	withClusters := clientcmdapi.Config{Clusters: map[string]*clientcmdapi.Cluster{"c": {Server: "https://c"}}}
	server := "https://10.0.0.1:6443"
	for _, tc := range []struct {
		name       string
		raw        clientcmdapi.Config
		apiServer  string
		host, port string
		token      string
		want       string // "" nil, "empty" ErrEmptyConfig, "token" *NoTokenError
	}{
		{name: "kubeconfig", raw: withClusters, token: token},
		{name: "--server", apiServer: server},
		{name: "nothing", token: token, want: "empty"},
		{name: "in a pod", host: "10.96.0.1", port: "443", token: token},
		{name: "in a pod, kubeconfig too", raw: withClusters, host: "10.96.0.1", port: "443", token: filepath.Join(dir, "none")},
		{name: "in a pod, no token mounted", host: "10.96.0.1", port: "443", token: filepath.Join(dir, "none"), want: "token"},
		{name: "in a pod, token path a directory", host: "10.96.0.1", port: "443", token: dir, want: "token"},
		{name: "host without port", host: "10.96.0.1", token: token, want: "token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBERNETES_SERVICE_HOST", tc.host)
			t.Setenv("KUBERNETES_SERVICE_PORT", tc.port)
			old := serviceAccountToken
			serviceAccountToken = tc.token
			defer func() { serviceAccountToken = old }()
			flags := genericclioptions.NewConfigFlags(false)
			flags.APIServer = &tc.apiServer
			err := requireConfig(tc.raw, flags)
			var noToken *NoTokenError
			switch tc.want {
			case "":
				if err != nil {
					t.Errorf("want a config, got %v", err)
				}
			case "empty":
				if !clientcmd.IsEmptyConfig(err) {
					t.Errorf("want ErrEmptyConfig, got %v", err)
				}
			case "token":
				if !errors.As(err, &noToken) || noToken.Path != tc.token {
					t.Fatalf("want *NoTokenError for %s, got %v", tc.token, err)
				}
				if msg := Explain(err); !strings.Contains(msg, "automountServiceAccountToken: true") || !strings.Contains(msg, tc.token) {
					t.Errorf("Explain: %q", msg)
				}
			}
		})
	}
}

// TestFlagsWithoutKubeconfig: with KUBECONFIG naming no file, --server,
// --token and --certificate-authority alone make the REST config (the way
// test/e2e/incluster_test.go runs the audit with the CronJob's token).
func TestFlagsWithoutKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "nonexistent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("not read until a TLS dial"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	server, token := "https://10.0.0.1:6443", "sa-token"
	flags.APIServer, flags.BearerToken, flags.CAFile = &server, &token, &ca
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := requireConfig(raw, flags); err != nil {
		t.Fatalf("requireConfig: %v", err)
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != server || cfg.BearerToken != token || cfg.CAFile != ca {
		t.Errorf("REST config: host %q token %q CA %q", cfg.Host, cfg.BearerToken, cfg.CAFile)
	}
}
