// Command rusage runs a program and writes its wall time and peak RSS to
// the file named by its first argument, as "<nanoseconds> <KiB> <how it
// ended>" (exit:N, or signal:N when a signal killed it); it exits with the
// program's exit code, 128+N for a signal, as a shell does.
//
// Measuring from the bench itself would be wrong: Go starts children with
// vfork, so the kernel's high-water mark of a child's RSS starts at its
// parent's (the bench, with its Kubernetes client, weighs ~50 MiB). This
// launcher is small enough that its own weight never shows.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rusage RESULT-FILE PROGRAM [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	code, ended := ws.ExitStatus(), fmt.Sprintf("exit:%d", ws.ExitStatus())
	if ws.Signaled() {
		code, ended = 128+int(ws.Signal()), fmt.Sprintf("signal:%d", ws.Signal())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if err := os.WriteFile(os.Args[1], fmt.Appendf(nil, "%d %d %s\n", wall.Nanoseconds(), ru.Maxrss, ended), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	os.Exit(code)
}
