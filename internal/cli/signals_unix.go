//go:build !windows

package cli

import (
	"os"
	"syscall"
)

// resumeSignals end the test hook's held pause (see countWrites).
var resumeSignals = []os.Signal{syscall.SIGUSR1}
