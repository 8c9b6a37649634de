package inspect

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
)

// Targets says which workloads to harden, in kubectl's own terms.
type Targets struct {
	Args          []string // "deploy/x", "deployment x", "sts/a sts/b"
	Filenames     []string
	Recursive     bool
	Selector      string
	Namespace     string
	ExplicitNS    bool // -n was given: objects from files must be in it
	AllNamespaces bool
}

// Resolve finds the live workloads the targets name, with resource.Builder
// exactly as kubectl does: short names, TYPE/NAME, TYPE NAME, -f, -l, -n, -A.
func Resolve(b *resource.Builder, t Targets) ([]*Workload, error) {
	if len(t.Args) == 0 && len(t.Filenames) == 0 {
		return nil, fmt.Errorf("name a workload, e.g. kubectl harden deploy/web (or use -f FILE)")
	}
	r := b.Unstructured().
		NamespaceParam(t.Namespace).DefaultNamespace().AllNamespaces(t.AllNamespaces).
		FilenameParam(t.ExplicitNS, &resource.FilenameOptions{Filenames: t.Filenames, Recursive: t.Recursive}).
		LabelSelectorParam(t.Selector).
		ResourceTypeOrNameArgs(true, t.Args...).
		Latest().
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return nil, err
	}
	infos, err := r.Infos()
	if err != nil {
		return nil, err
	}
	var out []*Workload
	for _, info := range infos {
		obj, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("unexpected object type %T", info.Object)
		}
		if !Kinds[obj.GroupVersionKind().GroupKind()] {
			if len(t.Filenames) > 0 {
				continue // manifests mix Services, ConfigMaps…: harden the workloads among them
			}
			return nil, fmt.Errorf("%s/%s is a %s: kubectl harden works on deployments, statefulsets, daemonsets, jobs and cronjobs",
				strings.ToLower(obj.GetKind()), obj.GetName(), obj.GetKind())
		}
		w, err := NewWorkload(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		if t.Selector != "" {
			return nil, fmt.Errorf("no workloads match selector %q", t.Selector)
		}
		return nil, fmt.Errorf("no workloads found")
	}
	return out, nil
}
