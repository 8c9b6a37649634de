package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/termsafe"
)

// A fleet audit reads several clusters, one per kubeconfig context, and
// prints one report (see report.WriteFleet*). --context is kubectl's own
// global flag, bound by cli-runtime's ConfigFlags to one string: every
// command keeps reading "--context a" as one context, and only the audit
// reads a comma-separated list ("--context a,b") or --all-contexts as a
// fleet. Each cluster gets a copy of the user's ConfigFlags with its
// context set, and from it its own factory, clients and reads: nothing is
// shared between clusters.

// fleetParallel is how many clusters a fleet audit reads at once: each
// audit already sends a LIST per kind at once, and a laptop's CPU, not the
// API servers, is the limit past a few.
const fleetParallel = 4

// fleetFormats are the -o values of a fleet audit: the printers with a
// fleet variant. The others (diff, and the single-cluster exports) read
// or write one cluster.
var fleetFormats = report.FleetFormats()

// fleetOptions are the audit's fleet flags and the contexts they name.
type fleetOptions struct {
	AllContexts bool
	// contexts are the kubeconfig contexts to audit, in the order named
	// (--all-contexts: sorted); nil for a single-cluster audit.
	contexts []string
}

// addFlags registers --all-contexts.
func (f *fleetOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.AllContexts, "all-contexts", false, "Audit the cluster of every context of the kubeconfig, in parallel, in one report (--context a,b,c names some)")
}

// active reports whether the audit reads several clusters.
func (f *fleetOptions) active() bool { return f.contexts != nil }

// completeFleet decides whether the audit is a fleet audit: --all-contexts,
// or --context with a comma. It checks every named context exists in the
// kubeconfig (a typo is refused before anything is read) and returns true
// for a fleet, whose sessions Run builds per cluster.
func (o *AuditOptions) completeFleet(cmd *cobra.Command) (bool, error) {
	named := ""
	if o.ConfigFlags.Context != nil {
		named = *o.ConfigFlags.Context
	}
	if !o.fleet.AllContexts && !strings.Contains(named, ",") {
		return false, nil
	}
	if o.fleet.AllContexts && named != "" {
		return true, fmt.Errorf("--all-contexts audits every context of the kubeconfig: leave out --context (or list them: --context a,b)")
	}
	for _, name := range []string{"cluster", "user", "server"} {
		if cmd != nil && cmd.Flags().Changed(name) {
			return true, fmt.Errorf("--%s picks one cluster or user for every context: it cannot be combined with several contexts", name)
		}
	}
	raw, err := contextFlags(o.ConfigFlags, "", o.IOStreams).ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return true, err
	}
	if len(raw.Contexts) == 0 {
		return true, clientcmd.ErrEmptyConfig
	}
	contexts, err := fleetContexts(named, o.fleet.AllContexts, raw.Contexts)
	o.fleet.contexts = contexts
	return true, err
}

// fleetContexts are the contexts to audit: every one of the kubeconfig,
// sorted, or those of the comma-separated list, in its order, each once.
// An empty name or one the kubeconfig lacks is an error.
func fleetContexts[V any](list string, all bool, known map[string]V) ([]string, error) {
	var out []string
	if all {
		for name := range known {
			out = append(out, name)
		}
		slices.Sort(out)
		return out, nil
	}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		switch _, ok := known[name]; {
		case name == "":
			return nil, fmt.Errorf("--context %q: an empty context name (contexts are separated by commas)", list)
		case !ok:
			return nil, fmt.Errorf("--context: context %q not found in the kubeconfig (kubectl config get-contexts lists them)", name)
		case !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	return out, nil
}

// contextFlags is a copy of the user's kubeconfig flags with Context set
// to name: the same kubeconfig, namespace, credentials overrides,
// impersonation and request wrapper (the interrupts' transport), and its
// own cached client config, REST mapper and discovery client.
func contextFlags(base *genericclioptions.ConfigFlags, name string, streams genericiooptions.IOStreams) *genericclioptions.ConfigFlags {
	c := genericclioptions.NewConfigFlags(true).WithWarningPrinter(streams)
	c.CacheDir, c.KubeConfig = base.CacheDir, base.KubeConfig
	c.ClusterName, c.AuthInfoName, c.Namespace, c.APIServer = base.ClusterName, base.AuthInfoName, base.Namespace, base.APIServer
	c.TLSServerName, c.Insecure, c.CertFile, c.KeyFile, c.CAFile = base.TLSServerName, base.Insecure, base.CertFile, base.KeyFile, base.CAFile
	c.BearerToken, c.Username, c.Password, c.Timeout = base.BearerToken, base.Username, base.Password, base.Timeout
	c.Impersonate, c.ImpersonateUID, c.ImpersonateGroup, c.ImpersonateUserExtra = base.Impersonate, base.ImpersonateUID, base.ImpersonateGroup, base.ImpersonateUserExtra
	c.DisableCompression, c.WrapConfigFn = base.DisableCompression, base.WrapConfigFn
	c.Context = &name
	return c
}

// validateFleet refuses what a fleet audit does not do: fixing (one
// cluster at a time: fixing a fleet at once is a change nobody could
// review) and the formats that read or write one cluster.
func (o *AuditOptions) validateFleet() error {
	if !o.fleet.active() {
		return nil
	}
	if len(o.Fix) > 0 {
		return fmt.Errorf("--fix changes one cluster at a time: run kubectl harden audit --context CONTEXT --fix=… for each of %s", strings.Join(o.fleet.contexts, ", "))
	}
	if o.Publish != "" {
		return fmt.Errorf("--publish writes to one cluster: run kubectl harden audit --context CONTEXT --publish for each of %s", strings.Join(o.fleet.contexts, ", "))
	}
	if o.Output != "" && !slices.Contains(fleetFormats, o.Output) {
		return fmt.Errorf("-o %s reads one cluster: with several contexts, -o must be one of %s (or run it once per --context)", o.Output, strings.Join(fleetFormats, ", "))
	}
	return nil
}

// scope is what the audit reads: the session's namespace (-n, or the
// context's) or every namespace with -A, the selector and the kinds.
func (o *AuditOptions) scope() inspect.Scope {
	scope := inspect.Scope{Namespace: o.targets.Namespace, Selector: o.Selector, Kinds: map[string]bool{}, ChunkSize: o.ChunkSize}
	if o.AllNamespaces {
		scope.Namespace = ""
	}
	for _, k := range o.Kinds {
		scope.Kinds[inspect.CanonicalKind(k)] = true
	}
	return scope
}

// runFleet audits every context's cluster, fleetParallel at a time, and
// prints one report. Exit status: 2 when a cluster could not be audited
// (the others are still reported), else 1 when an audited cluster fails
// the gate (fails: --fail-on, --min-score per cluster, or any pending
// finding), else 0.
func (o *AuditOptions) runFleet(ctx context.Context) error {
	items := make([]report.FleetItem, len(o.fleet.contexts))
	g := &errgroup.Group{}
	g.SetLimit(fleetParallel)
	for i, name := range o.fleet.contexts {
		g.Go(func() error {
			items[i] = o.auditContext(ctx, name)
			return nil
		})
	}
	_ = g.Wait() // each cluster's error is its item's
	// A cluster not audited is named on stderr by fleetExit; the html
	// page holds the clusters that were.
	printer, _ := report.AuditPrinterFor(o.Output)
	if err := o.writeHTML(func(w io.Writer, opt report.HTMLOptions) error {
		return printer.Fleet(w, items, report.PrintOptions{Styles: o.styles, HTML: opt})
	}); err != nil {
		return err
	}
	return o.fleetExit(items)
}

// fleetExit is the fleet's exit status (see runFleet); a cluster not
// audited is also named on stderr, which a CI log shows whatever -o wrote.
func (o *AuditOptions) fleetExit(items []report.FleetItem) error {
	failed, gate := false, false
	for _, it := range items {
		switch {
		case it.Failed():
			failed = true
			if o.Output != "" && o.Output != "table" {
				fmt.Fprintf(o.ErrOut, "error: cluster %s not audited: %s\n", termsafe.String(it.Cluster), termsafe.String(it.Error))
			}
		case o.fails(it.Report):
			gate = true
		}
	}
	switch {
	case failed:
		return ExitCodeError(ExitError)
	case gate:
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// auditContext audits one context's cluster with its own flags, factory,
// clients and reads (a copy of o with its own session), as a
// single-cluster audit would; any error is the item's, on one line.
func (o *AuditOptions) auditContext(ctx context.Context, name string) report.FleetItem {
	item := report.FleetItem{Cluster: name}
	flags := contextFlags(o.ConfigFlags, name, o.IOStreams)
	sess, err := newSession(cmdutil.NewFactory(flags), flags, inspect.Targets{}, o.FieldManager, false, 1)
	if err != nil {
		item.Error = Explain(err)
		return item
	}
	c := *o
	c.session = sess
	cluster, err := c.reader.Cluster(ctx)
	if err != nil {
		item.Error = Explain(err)
		return item
	}
	cluster.Context = name
	rep, _, err := c.audit(ctx, cluster, c.scope(), rules.Selection{Skip: o.Skip})
	if err != nil {
		item.Error = Explain(err)
		return item
	}
	c.verifyPodSecurity(ctx, rep)
	rep.Cluster = name
	item.Report = rep
	return item
}
