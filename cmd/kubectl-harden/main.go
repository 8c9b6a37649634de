// Command kubectl-harden is the kubectl plugin `kubectl harden`.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/cli"
)

// profileEnv names a file to write a CPU profile of the whole run to (go
// tool pprof reads it): what `make bench`'s numbers are made of.
const profileEnv = "HARDEN_CPUPROFILE"

func main() {
	stop := profile(os.Getenv(profileEnv))
	code := cli.Execute(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// profile starts a CPU profile into path ("" for none) and returns what
// ends it.
func profile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: %s: %v\n", profileEnv, err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
