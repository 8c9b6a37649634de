package inspect

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	// Note is told, in one line, which objects of the files were skipped
	// because they are not workloads; may be nil.
	Note func(msg string)
	// NotLive, when set, is told of each workload of the files that is
	// not live, and Resolve goes on with the others (returning no error
	// when it found none but told some); nil makes the first one Resolve's
	// error.
	NotLive func(NotLive)
}

// NotLive is a workload named in a file that the API server does not have.
type NotLive struct {
	Ref       string // "deployment/ghost"
	Namespace string
	// Index is where it stood among the workloads Resolve returns: the
	// number of live ones before it.
	Index int
	Err   error // "deployment/ghost in namespace NS (from m.yaml) is not live: …"
}

// Resolve finds the live workloads the targets name, with resource.Builder
// exactly as kubectl does: short names, TYPE/NAME, TYPE NAME, -f, -l, -n, -A.
// Files may mix workloads with anything else (Services, ConfigMaps…): only
// the workloads among them are read live, the rest are skipped, live or not,
// and named to t.Note.
func Resolve(b *resource.Builder, t Targets) ([]*Workload, error) {
	if len(t.Args) == 0 && len(t.Filenames) == 0 {
		return nil, fmt.Errorf("name a workload, e.g. kubectl harden deploy/web (or use -f FILE)")
	}
	files := len(t.Filenames) > 0
	b = b.Unstructured().
		NamespaceParam(t.Namespace).DefaultNamespace().AllNamespaces(t.AllNamespaces).
		FilenameParam(t.ExplicitNS, &resource.FilenameOptions{Filenames: t.Filenames, Recursive: t.Recursive}).
		LabelSelectorParam(t.Selector).
		ResourceTypeOrNameArgs(true, t.Args...)
	if !files {
		b = b.Latest()
	}
	r := b.Flatten().Do()
	if err := r.Err(); err != nil {
		return nil, err
	}
	infos, err := r.Infos()
	if err != nil {
		return nil, err
	}
	var out []*Workload
	var skipped []string
	notLive := 0
	for _, info := range infos {
		obj, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("unexpected object type %T", info.Object)
		}
		if !Kinds[obj.GroupVersionKind().GroupKind()] {
			if files {
				skipped = append(skipped, strings.ToLower(obj.GetKind())+"/"+obj.GetName())
				continue
			}
			return nil, fmt.Errorf("%s/%s is a %s: kubectl harden works on deployments, statefulsets, daemonsets, jobs and cronjobs",
				strings.ToLower(obj.GetKind()), obj.GetName(), obj.GetKind())
		}
		if files {
			// A workload from a file is hardened as it runs, not as written.
			if err := info.Get(); apierrors.IsNotFound(err) {
				ref := strings.ToLower(obj.GetKind()) + "/" + obj.GetName()
				err := fmt.Errorf("%s in namespace %s (from %s) is not live: kubectl harden works on running workloads", ref, info.Namespace, info.Source)
				if t.NotLive == nil {
					return nil, err
				}
				t.NotLive(NotLive{Ref: ref, Namespace: info.Namespace, Index: len(out), Err: err})
				notLive++
				continue
			} else if err != nil {
				return nil, err
			}
			if obj, ok = info.Object.(*unstructured.Unstructured); !ok {
				return nil, fmt.Errorf("unexpected object type %T", info.Object)
			}
		}
		w, err := NewWorkload(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if len(skipped) > 0 && t.Note != nil {
		t.Note(fmt.Sprintf("skipped %s: %s", notWorkloads(len(skipped)), strings.Join(skipped, ", ")))
	}
	if len(out) == 0 && notLive == 0 {
		if t.Selector != "" {
			return nil, fmt.Errorf("no workloads match selector %q", t.Selector)
		}
		return nil, fmt.Errorf("no workloads found")
	}
	return out, nil
}

// notWorkloads says "1 object that is not a workload" or "N objects that
// are not workloads".
func notWorkloads(n int) string {
	if n == 1 {
		return "1 object that is not a workload"
	}
	return fmt.Sprintf("%d objects that are not workloads", n)
}
