// Package all registers every rule plugin: import it for its side effect.
package all

import (
	_ "github.com/kubectl-harden/kubectl-harden/plugins/capabilities"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/hostnamespaces"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/hostpath"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/hostports"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/livenessprobe"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/pdb"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/podhealth"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/podsecurity"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/priorityclass"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/privileged"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/privilegeescalation"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/readinessprobe"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/readonlyrootfs"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/replicas"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/rollout"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/runasnonroot"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/seccomp"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/spread"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/startupprobe"
	_ "github.com/kubectl-harden/kubectl-harden/plugins/sysctls"
)
