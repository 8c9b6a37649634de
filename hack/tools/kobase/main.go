// Command kobase lets ko build the kubectl-harden image offline: ko takes
// its base image from a registry only, and the default one
// (cgr.dev/chainguard/static) needs the network. kobase serves an empty
// ("scratch") multi-platform base on a loopback registry in memory, runs
// the command given with KO_DEFAULTBASEIMAGE naming it, and stops the
// registry when the command ends, exiting with its status.
//
//	go run ./kobase -platforms linux/amd64,linux/arm64 -- ko build --push=false --tarball=… ./cmd/kubectl-harden
//
// kubectl-harden is static (CGO_ENABLED=0) and, in a pod, trusts the API
// server through the ServiceAccount's ca.crt: it needs no file of a base.
// The base has no user either: the pod sets runAsUser (docs/deploy).
// Loopback registries are spoken to over plain HTTP by go-containerregistry,
// so no certificate is involved.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "platforms of the scratch base, OS/ARCH[/VARIANT], comma-separated")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kobase [-platforms LIST] -- COMMAND [ARG...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := run(strings.Split(*platforms, ","), flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kobase:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// run serves the base, runs the command and returns its exit status.
func run(platforms, command []string) (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	ref, err := name.ParseReference(l.Addr().String() + "/scratch:latest")
	if err != nil {
		return 0, err
	}
	idx, err := scratchIndex(platforms)
	if err != nil {
		return 0, err
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		return 0, fmt.Errorf("pushing the base to %s: %w", ref, err)
	}
	fmt.Fprintf(os.Stderr, "kobase: scratch base for %s served as %s\n", strings.Join(platforms, ","), ref)

	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "KO_DEFAULTBASEIMAGE="+ref.String())
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// scratchIndex is an image index of one empty image per platform
// (OS/ARCH[/VARIANT]), each with its platform in its config and its
// descriptor, which is how ko picks the base of each platform it builds.
func scratchIndex(platforms []string) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, s := range platforms {
		p, err := v1.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		if p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q: want OS/ARCH", s)
		}
		cfg, err := empty.Image.ConfigFile()
		if err != nil {
			return nil, err
		}
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
		img, err := mutate.ConfigFile(empty.Image, cfg)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return mutate.AppendManifests(empty.Index, adds...), nil
}
