//go:build windows

package cli

import "os"

// resumeSignals end the test hook's held pause (see countWrites): Windows
// has no SIGUSR1, so the pause there only ends after its minute.
var resumeSignals []os.Signal
