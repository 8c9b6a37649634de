// Package cli holds one file per subcommand, each an Options struct with
// Complete, Validate and Run, in the style of kubectl's own commands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	_ "github.com/kubectl-harden/kubectl-harden/plugins/all" // registers every rule
)

// Exit codes, the same as kubectl diff's: 0 nothing to do, 1 findings
// remain, >1 an error.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
	ExitAborted  = 130
)

// isExitCode reports whether err only carries an exit code.
func isExitCode(err error) bool {
	var code ExitCodeError
	return errors.As(err, &code)
}

// ExitCodeError ends the command with a code and no message of its own.
type ExitCodeError int

func (e ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// NewRootCommand builds `kubectl harden` and its subcommands.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag().WithWarningPrinter(streams)
	f := cmdutil.NewFactory(flags)
	o := NewHardenOptions(flags, streams)
	cmd := &cobra.Command{
		Use:   "kubectl-harden [(TYPE[.VERSION][.GROUP] [NAME] | TYPE[.VERSION][.GROUP]/NAME) | -f FILENAME | -l SELECTOR]",
		Short: "Make live workloads production-ready: probes, replicas, PDBs, spread, non-root and more",
		Long: `Inspect a live workload and the objects around it, list what makes it fragile
or unsafe, and apply the recommended fixes with server-side apply.

Works on deployments, statefulsets, daemonsets, jobs and cronjobs.`,
		Example: `  # Inspect the web Deployment in the demo namespace
  kubectl harden deploy/web -n demo

  # Inspect every Deployment labelled app=shop
  kubectl harden deploy -l app=shop

  # Print version information
  kubectl harden version -o json`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl harden",
		},
		Args:              cobra.ArbitraryArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		ValidArgsFunction: workloadCompletion(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	// Every request goes through the interrupts' transport, which knows
	// whether a run has written anything yet.
	cmd.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		if in := interruptsOf(cmd.Context()); in != nil {
			flags.WrapConfigFn = func(c *rest.Config) *rest.Config {
				c.Wrap(in.wrapTransport)
				return c
			}
		}
	}
	flags.AddFlags(cmd.PersistentFlags())
	addConfigFlag(cmd)
	o.AddFlags(cmd)
	registerNamespaceCompletion(cmd, f)
	addKlogFlags(cmd)

	cmd.AddCommand(NewVersionCommand(streams))
	cmd.AddCommand(NewCompletionCommand(streams))
	cmd.AddCommand(NewRulesCommand(streams))
	cmd.AddCommand(NewUndoCommand(flags, f, streams))
	cmd.AddCommand(NewHistoryCommand(flags, f, streams))
	cmd.AddCommand(NewAuditCommand(flags, f, streams))
	return cmd
}

// addKlogFlags exposes -v for debugging while keeping client-go's own log
// lines (e.g. discovery retries) off the terminal by default, so an error
// is one line.
func addKlogFlags(cmd *cobra.Command) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
	v := fs.Lookup("v")
	cmd.PersistentFlags().AddGoFlag(v)
	cobra.OnInitialize(func() {
		if v.Value.String() != "0" {
			_ = fs.Set("logtostderr", "true")
			_ = fs.Set("stderrthreshold", "INFO")
		}
	})
}

// Execute runs the command line and returns the process exit code, printing
// at most one error line on stderr. SIGINT and SIGTERM stop the run at its
// next safe point (see interrupts): exit 130 with one line saying what the
// objects are left as.
func Execute(streams genericiooptions.IOStreams, args []string) int {
	ctx, in, stop := notifyInterrupts(context.Background(), streams.ErrOut)
	defer stop()
	cmd := NewRootCommand(streams)
	cmd.SetArgs(args)
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	err := cmd.ExecuteContext(ctx)
	var ie *InterruptedError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintln(streams.ErrOut, ie.Error())
		return ExitAborted
	case in.interrupted() && err != nil && !isExitCode(err):
		// Stopped before any workload was written: reading, planning.
		fmt.Fprintln(streams.ErrOut, "interrupted: nothing was changed")
		return ExitAborted
	case err == nil:
		return ExitOK
	}
	var code ExitCodeError
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(streams.ErrOut, "error: %s\n", Explain(err))
	return ExitError
}
