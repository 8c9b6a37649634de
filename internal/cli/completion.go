package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/metadata"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
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

// ruleWords are the words --fix and --skip take, with what each selects:
// "all", then every category, rule ID and alias, sorted within each group.
func ruleWords() []cobra.Completion {
	var ids, cats, aliases []string
	byCat := map[string][]string{}
	byAlias := map[string][]string{}
	for _, r := range rules.All() {
		m := r.Meta()
		ids = append(ids, cobra.CompletionWithDesc(m.ID, m.Title))
		c := string(m.Category)
		if len(byCat[c]) == 0 {
			cats = append(cats, c)
		}
		byCat[c] = append(byCat[c], m.ID)
		for _, a := range m.Aliases {
			if len(byAlias[a]) == 0 {
				aliases = append(aliases, a)
			}
			byAlias[a] = append(byAlias[a], m.ID)
		}
	}
	sort.Strings(ids)
	sort.Strings(cats)
	sort.Strings(aliases)
	out := []cobra.Completion{cobra.CompletionWithDesc("all", "every rule (opt-in fixes only when named)")}
	for _, c := range cats {
		out = append(out, cobra.CompletionWithDesc(c, "category: "+strings.Join(byCat[c], ", ")))
	}
	out = append(out, ids...)
	for _, a := range aliases {
		out = append(out, cobra.CompletionWithDesc(a, "alias: "+strings.Join(byAlias[a], ", ")))
	}
	// A rule named as its category (resources, rollout) is offered once,
	// as the category, which selects it.
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(c cobra.Completion) bool {
		word, _, _ := strings.Cut(c, "\t")
		dup := seen[word]
		seen[word] = true
		return dup
	})
}

// ruleCompletion completes --fix and --skip, a comma-separated list: the
// last word from ruleWords, after the words already typed (offered again
// as a prefix, the way shells complete a comma list; the words already in
// the list are not offered), with no space after it, so that another
// comma can follow: --fix=pdb,pro<TAB> gives pdb,probes.
func ruleCompletion(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	typed, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		typed, last = toComplete[:i+1], toComplete[i+1:]
	}
	done := strings.Split(strings.ToLower(typed), ",")
	var out []cobra.Completion
	for _, c := range ruleWords() {
		word, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(word, strings.ToLower(last)) && !slices.Contains(done, word) {
			out = append(out, typed+c)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// outputFormats are harden's -o values from the printer registry, a
// format that takes an argument ending in "=" (kustomize=).
var outputFormats = func() []string {
	var out []string
	for _, f := range report.HardenFormats() {
		format, _, hasArg := strings.Cut(f, "=")
		if hasArg {
			format += "="
		}
		out = append(out, format)
	}
	return out
}()

// outputCompletion completes -o: the formats, then after kustomize= the
// directories under what is typed (listed here, so that every shell
// completes the value whole), without a space so that a directory can
// go on.
func outputCompletion(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const nospace = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	if dir, ok := strings.CutPrefix(toComplete, "kustomize="); ok {
		return kustomizeDirs(dir), nospace
	}
	var out []cobra.Completion
	for _, f := range outputFormats {
		if strings.HasPrefix(f, toComplete) {
			out = append(out, f)
		}
	}
	return out, nospace
}

// kustomizeDirs are "kustomize=DIR/" for each directory whose path starts
// with typed (relative to the working directory), hidden ones only when
// typed names a dot; none when it cannot be read.
func kustomizeDirs(typed string) []cobra.Completion {
	parent, base := filepath.Split(typed)
	entries, err := os.ReadDir(filepath.Clean("./" + parent))
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		out = append(out, "kustomize="+parent+name+"/")
	}
	return out
}

// setCompletion completes --set RULE.PARAM= from the registry's
// parameters, each with its description, and no space after the "=" so
// that the value follows; a value is not completed.
func setCompletion(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const nospace = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, r := range rules.All() {
		m := r.Meta()
		for _, p := range m.Params {
			key := m.ID + "." + p.Name + "="
			if strings.HasPrefix(key, strings.ToLower(toComplete)) {
				out = append(out, cobra.CompletionWithDesc(key, p.Description))
			}
		}
	}
	sort.Strings(out)
	return out, nospace
}
