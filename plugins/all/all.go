// Package all registers every rule plugin: import it for its side effect.
package all

import (
	_ "github.com/kubectl-harden/kubectl-harden/plugins/livenessprobe"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/pdb"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/podhealth"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/priorityclass"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/readinessprobe"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/replicas"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/rollout"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/spread"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/startupprobe"
)
