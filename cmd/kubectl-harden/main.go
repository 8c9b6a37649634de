// Command kubectl-harden is the kubectl plugin `kubectl harden`.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/cli"
)

// profileEnv names a file to write a CPU profile of the whole run to (go
// tool pprof reads it), traceEnv one for an execution trace (go tool trace:
// what runs when, on how many cores): what `make bench`'s numbers are
// made of.
const (
	profileEnv = "HARDEN_CPUPROFILE"
	traceEnv   = "HARDEN_EXECTRACE"
)

func main() {
	stopProfile := record(profileEnv, pprof.StartCPUProfile, pprof.StopCPUProfile)
	stopTrace := record(traceEnv, trace.Start, trace.Stop)
	code := cli.Execute(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	stopTrace()
	stopProfile()
	os.Exit(code)
}

// record starts a recording into the file the environment variable env
// names (none when unset) and returns what ends it.
func record(env string, start func(io.Writer) error, stop func()) (end func()) {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = start(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: %s: %v\n", env, err)
		return func() {}
	}
	return func() { stop(); f.Close() }
}
