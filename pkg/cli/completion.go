package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/metadata"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/pkg/inspect"
)

// NewCompletionCommand builds `kubectl harden completion SHELL`.
func NewCompletionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script for kubectl-harden",
		Long: `Print a shell completion script for the kubectl-harden binary.

For completion of "kubectl harden <TAB>" through kubectl itself (kubectl 1.26+),
put the kubectl_complete-harden script shipped with the plugin on your PATH.`,
		Example:   `  source <(kubectl harden completion bash)`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(streams.Out, true)
			case "zsh":
				return root.GenZshCompletion(streams.Out)
			case "fish":
				return root.GenFishCompletion(streams.Out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(streams.Out)
			}
			return fmt.Errorf("unsupported shell %q: use bash, zsh, fish or powershell", args[0])
		},
	}
}

// workloadTypes are offered first; any kubectl short name also works.
var workloadTypes = []string{"deployments", "statefulsets", "daemonsets", "jobs", "cronjobs"}

// workloadCompletion completes TYPE, TYPE/NAME and TYPE NAME from the live
// cluster.
func workloadCompletion(f cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0 && !strings.Contains(toComplete, "/"):
			return workloadTypes, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		case len(args) == 0:
			typ := toComplete[:strings.Index(toComplete, "/")]
			names := listNames(cmd.Context(), f, typ)
			for i := range names {
				names[i] = typ + "/" + names[i]
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		case len(args) == 1 && !strings.Contains(args[0], "/"):
			return listNames(cmd.Context(), f, args[0]), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// listNames lists the names of a workload type in the current namespace,
// reading metadata only. Completion must never fail loudly, so errors give
// no candidates.
func listNames(ctx context.Context, f cmdutil.Factory, typ string) []string {
	mapper, err := f.ToRESTMapper()
	if err != nil {
		return nil
	}
	gvr, err := mapper.ResourceFor(schema.GroupVersionResource{Resource: typ})
	if err != nil {
		return nil
	}
	gvk, err := mapper.KindFor(gvr)
	if err != nil || !inspect.Kinds[gvk.GroupKind()] {
		return nil
	}
	ns, _, err := f.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil
	}
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	list, err := client.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for _, item := range list.Items {
		names = append(names, item.Name)
	}
	return names
}

// registerNamespaceCompletion completes -n from the live namespaces.
func registerNamespaceCompletion(cmd *cobra.Command, f cmdutil.Factory) {
	_ = cmd.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		client, err := f.KubernetesClientSet()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := client.CoreV1().Namespaces().List(cmd.Context(), metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, ns := range list.Items {
			names = append(names, ns.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}
