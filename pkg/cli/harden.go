package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
	"github.com/kubectl-harden/kubectl-harden/pkg/termsafe"
)

// HardenOptions is `kubectl harden TYPE/NAME`.
type HardenOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Filenames     []string
	Recursive     bool
	Selector      string
	AllNamespaces bool

	targets inspect.Targets
	builder func() *resource.Builder
	reader  *inspect.Reader
	context string
}

// NewHardenOptions returns options with kubectl's defaults.
func NewHardenOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *HardenOptions {
	return &HardenOptions{ConfigFlags: flags, IOStreams: streams}
}

// AddFlags registers the target-selection flags.
func (o *HardenOptions) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringSliceVarP(&o.Filenames, "filename", "f", nil, "Files (or directories) naming the workloads to harden; the live objects are read")
	fs.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively")
	fs.StringVarP(&o.Selector, "selector", "l", "", "Selector (label query) to filter on, e.g. -l app=web")
	fs.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Look for the named workloads in every namespace")
}

// Complete builds clients and targets from flags and arguments.
func (o *HardenOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	ns, explicit, err := f.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return err
	}
	o.targets = inspect.Targets{
		Args: args, Filenames: o.Filenames, Recursive: o.Recursive, Selector: o.Selector,
		Namespace: ns, ExplicitNS: explicit, AllNamespaces: o.AllNamespaces,
	}
	o.builder = f.NewBuilder
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return err
	}
	client, err := f.KubernetesClientSet()
	if err != nil {
		return err
	}
	metrics, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	o.reader = &inspect.Reader{Client: client, Metrics: metrics}
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return err
	}
	if err := requireConfig(raw, o.ConfigFlags); err != nil {
		return err
	}
	o.context = raw.CurrentContext
	if c := o.ConfigFlags.Context; c != nil && *c != "" {
		o.context = *c
	}
	return nil
}

// requireConfig refuses to fall back to client-go's default of
// http://localhost:8080 when there is no kubeconfig at all: that only ends in
// a confusing "connection refused".
func requireConfig(raw clientcmdapi.Config, flags *genericclioptions.ConfigFlags) error {
	if len(raw.Clusters) > 0 || os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return nil
	}
	if flags.APIServer != nil && *flags.APIServer != "" {
		return nil
	}
	return clientcmd.ErrEmptyConfig
}

// Validate checks the flags make sense together.
func (o *HardenOptions) Validate() error {
	if len(o.targets.Args) == 0 && len(o.targets.Filenames) == 0 {
		return fmt.Errorf("name a workload, e.g. kubectl harden deploy/web (see kubectl harden --help)")
	}
	return nil
}

// Run reads each target's live Snapshot and prints it.
func (o *HardenOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	workloads, err := inspect.Resolve(o.builder(), o.targets)
	if err != nil {
		return err
	}
	cluster, err := o.reader.Cluster(ctx)
	if err != nil {
		return err
	}
	cluster.Context = o.context
	for i, w := range workloads {
		snap, err := o.reader.Snapshot(ctx, cluster, w)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(o.Out)
		}
		PrintSnapshot(o.Out, snap)
	}
	return nil
}

// PrintSnapshot writes a human-readable summary of what was inspected.
func PrintSnapshot(out io.Writer, s *inspect.Snapshot) {
	q := termsafe.String
	w := s.Workload
	st := s.Stats()
	fmt.Fprintf(out, "%s in namespace %s (context %s)\n", q(w.Ref()), q(w.Namespace()), q(s.Cluster.Context))
	row := func(k, format string, a ...any) { fmt.Fprintf(out, "  %-16s "+format+"\n", append([]any{k}, a...)...) }
	if r := w.Replicas(); r >= 0 {
		row("replicas", "%d desired, %d ready, %d restarts", r, st.Ready, st.Restarts)
	} else {
		row("pods", "%d, %d ready, %d restarts", st.Total, st.Ready, st.Restarts)
	}
	zones := make([]string, 0, len(st.Zones))
	for z, n := range st.Zones {
		if z == "" {
			z = "(no zone)"
		}
		zones = append(zones, fmt.Sprintf("%s=%d", q(z), n))
	}
	sort.Strings(zones)
	row("ready by zone", "%s (cluster zones: %s)", orNone(strings.Join(zones, " ")), orNone(strings.Join(s.Cluster.Zones(), ", ")))
	for _, p := range s.Pods {
		ready, _ := inspect.PodReady(&p)
		state := string(p.Status.Phase)
		if ready {
			state += ", ready"
		}
		node := p.Spec.NodeName
		if z := s.Cluster.ZoneOf(node); z != "" {
			node += " (" + z + ")"
		}
		row("pod", "%s  %s  on %s", q(p.Name), state, q(orNone(node)))
	}
	for reason, n := range st.Problems {
		row("problem", "%s ×%d", q(reason), n)
	}
	if st.SlowestStart > 0 {
		row("slowest start", "%s from start to ready", st.SlowestStart.Round(time.Second))
	}
	tpl := w.PodTemplate()
	for _, c := range tpl.Spec.Containers {
		row("container", "%s  image %s  probes: %s", q(c.Name), q(c.Image), probes(c.ReadinessProbe != nil, c.LivenessProbe != nil, c.StartupProbe != nil))
	}
	row("services", "%s", names(len(s.Services), func(i int) string { return s.Services[i].Name }))
	row("pdbs", "%s", names(len(s.PDBs), func(i int) string { return s.PDBs[i].Name }))
	row("hpas", "%s", names(len(s.HPAs), func(i int) string { return s.HPAs[i].Name }))
	row("networkpolicies", "%s", names(len(s.NetworkPolicies), func(i int) string { return s.NetworkPolicies[i].Name }))
	row("priorityClass", "%s (cluster defines %d)", orNone(q(tpl.Spec.PriorityClassName)), len(s.Cluster.PriorityClasses))
	if s.Usage != nil {
		row("metrics", "served (%d pods measured)", len(s.Usage))
	} else {
		row("metrics", "not served")
	}
}

func probes(readiness, liveness, startup bool) string {
	var p []string
	for _, x := range []struct {
		on   bool
		name string
	}{{readiness, "readiness"}, {liveness, "liveness"}, {startup, "startup"}} {
		if x.on {
			p = append(p, x.name)
		}
	}
	return orNone(strings.Join(p, ","))
}

func names(n int, name func(int) string) string {
	out := make([]string, n)
	for i := range out {
		out[i] = termsafe.String(name(i))
	}
	return orNone(strings.Join(out, ", "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
