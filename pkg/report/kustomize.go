package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-harden/kubectl-harden/pkg/objmerge"
	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
)

// Kustomization is the kustomization.yaml harden writes: the fixes as
// patches to the workloads, the companions as resources. Committing it
// to the repository a GitOps controller syncs makes the fixes stick.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources,omitempty"`
	Patches    []Patch  `json:"patches,omitempty"`
}

// Patch is one entry of patches:.
type Patch struct {
	Path string `json:"path"`
}

// WriteKustomize writes the plans into dir: one strategic-merge patch per
// changed object (only the fields the fixes set), one manifest per
// companion, and the kustomization.yaml that lists them. It returns the
// files written.
func WriteKustomize(dir string, plans []*plan.Plan) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	k := Kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"}
	var files []string
	write := func(name string, obj any) error {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		files = append(files, filepath.Join(dir, name))
		return os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	for _, p := range plans {
		for _, o := range p.Objects {
			base := strings.ToLower(o.Kind) + "-" + o.Name + ".yaml"
			if o.Create {
				if err := write(base, plan.Clean(o.Apply)); err != nil {
					return nil, err
				}
				k.Resources = append(k.Resources, base)
				continue
			}
			patch := objmerge.DeepCopy(o.Set)
			unstructured.RemoveNestedField(patch, "metadata", "resourceVersion")
			if err := write("patch-"+base, patch); err != nil {
				return nil, err
			}
			k.Patches = append(k.Patches, Patch{Path: "patch-" + base})
		}
	}
	if len(k.Patches)+len(k.Resources) == 0 {
		return nil, fmt.Errorf("nothing to write: no fix is planned")
	}
	if err := write("kustomization.yaml", k); err != nil {
		return nil, err
	}
	return files, nil
}
