// Package owners says, before anything is written, which fields of a live
// object another field manager owns that a change would change, who that
// manager is, and what kind of owner it is: a manifest applier or GitOps
// controller whose next apply reverts a live change, an autoscaler, or a
// one-off edit that nothing re-applies.
//
// It computes what server-side apply itself would call a conflict: the
// fields whose value the change alters (merged with the API's own schema, so
// containers merge by name and atomic lists as a whole), intersected with
// the field sets each other manager holds in metadata.managedFields.
package owners

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// Class is what kind of field manager owns a field, which decides whether
// harden takes the field by default.
type Class string

const (
	// Manifest is a manifest applier or GitOps controller (kubectl apply,
	// Helm, Argo CD, Flux, Terraform…): its next apply or sync resets a live
	// change, so the fix belongs in its source.
	Manifest Class = "manifest"
	// Autoscaler is an HPA, VPA or KEDA writing replicas or resources.
	Autoscaler Class = "autoscaler"
	// OneOff is a hand edit (kubectl edit, scale, set, patch…): nothing
	// re-applies it, so harden takes the field.
	OneOff Class = "one-off"
	// Controller is any other manager: unknown, so treated like a manifest
	// applier — a controller may well write the field back.
	Controller Class = "controller"
	// Defaulted is a field kubectl's client-side apply owns only because
	// the API server defaulted it when the object was created: it is not in
	// the last applied configuration, so the next kubectl apply leaves it
	// alone (replicas, when a manifest does not set it).
	Defaulted Class = "defaulted"
)

// Takes reports whether harden takes a field from this class of owner
// without --force-conflicts: from one-off edits, and fields a manifest
// applier owns only as the API server's defaults.
func (c Class) Takes() bool { return c == OneOff || c == Defaulted }

// Conflict is one field a change would alter that another manager owns.
type Conflict struct {
	// Field is the field's path as the API server names it in a conflict,
	// e.g. .spec.template.spec.containers[name="web"].securityContext.
	Field   string `json:"field"`
	Manager string `json:"manager"`
	Class   Class  `json:"class"`
}

func (c Conflict) String() string {
	return fmt.Sprintf("%s is owned by field manager %s (%s)", c.Field, c.Manager, c.Class.Describe())
}

// Describe says in a few words what the class means for a live change.
func (c Class) Describe() string {
	switch c {
	case Manifest:
		return "a manifest applier: its next apply or sync resets a live change"
	case Autoscaler:
		return "an autoscaler: it keeps writing this field"
	case OneOff:
		return "a one-off edit: nothing re-applies it"
	case Defaulted:
		return "a default the manifest does not set: its next apply leaves it alone"
	}
	return "a controller harden does not know: it may write the field back"
}

// manifestAppliers are the managers known to re-apply a manifest. Names
// are matched exactly or, for those ending in "*", as a prefix.
var manifestAppliers = []string{
	"kubectl-client-side-apply", "kubectl", "kubectl-replace", "helm", "Helm",
	"argocd-controller", "argocd-application-controller", "argocd-server",
	"kustomize-controller", "helm-controller", "flux-client-side-apply",
	"terraform*", "Terraform*", "pulumi*", "pulumi-kubernetes*", "skaffold", "tilt", "kapp*", "spinnaker*",
	"rancher*", "fleet-agent*", "config-sync*", "crossplane*", "kpt*",
}

// oneOffEditors are kubectl's imperative commands and the other tools
// people use for a single change.
var oneOffEditors = []string{
	"kubectl-edit", "kubectl-scale", "kubectl-set", "kubectl-patch", "kubectl-label", "kubectl-annotate",
	"kubectl-rollout", "kubectl-create", "kubectl-run", "kubectl-expose", "kubectl-autoscale", "k9s", "Lens*",
}

var autoscalers = []string{
	"vpa*", "vertical-pod-autoscaler*", "keda*", "horizontal-pod-autoscaler*",
}

// Classify names the kind of owner a managedFields entry is. The scale
// subresource is written by autoscalers (the HPA controller writes it as
// kube-controller-manager); a kubectl scale is a one-off edit. kubectl
// scale (v1.32 at least) sends no field manager, so the API server names
// it after its user agent, "kubectl", on the scale subresource: that is
// neither a server-side apply (also "kubectl", but on the object) nor an
// autoscaler.
func Classify(e metav1.ManagedFieldsEntry) Class {
	switch {
	case matches(oneOffEditors, e.Manager):
		return OneOff
	case e.Subresource == "scale" && e.Manager == "kubectl":
		return OneOff
	case e.Subresource == "scale" || matches(autoscalers, e.Manager):
		return Autoscaler
	case matches(manifestAppliers, e.Manager):
		return Manifest
	}
	return Controller
}

func matches(names []string, manager string) bool {
	for _, n := range names {
		if p, ok := strings.CutSuffix(n, "*"); ok && strings.HasPrefix(manager, p) || n == manager {
			return true
		}
	}
	return false
}

var (
	converterOnce sync.Once
	converter     managedfields.TypeConverter
)

// typeConverter types objects with the schemas client-go's apply
// configurations are generated from: the API server's own merge rules.
func typeConverter() managedfields.TypeConverter {
	converterOnce.Do(func() { converter = applyconfigurations.NewTypeConverter(scheme.Scheme) })
	return converter
}

// Of returns the fields of live that applying change would alter and that
// a manager other than self owns, sorted by field then manager. Status
// subresource entries are ignored (an apply to the main resource cannot
// touch them). change is a partial object in server-side apply form.
//
// It returns an error when live's kind has no known schema or change is
// not a valid partial object of that kind.
func Of(live *unstructured.Unstructured, change map[string]any, self string) ([]Conflict, error) {
	conflicts, _, err := Analyze(live, change, self)
	return conflicts, err
}

// Analyze returns both what Of and what Takes return, computing the
// change's fields once.
func Analyze(live *unstructured.Unstructured, change map[string]any, self string) ([]Conflict, []Taken, error) {
	changed, err := Changes(live, change)
	if err != nil {
		return nil, nil, err
	}
	var out []Conflict
	var taken []Taken
	applied := lastApplied(live)
	reapplied := map[string]bool{}
	for _, e := range live.GetManagedFields() {
		if e.Manager == self || e.Subresource == "status" || e.FieldsV1 == nil {
			continue
		}
		owned := &fieldpath.Set{}
		if err := owned.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			return nil, nil, fmt.Errorf("reading the fields %s owns on %s/%s: %w", e.Manager, live.GetKind(), live.GetName(), err)
		}
		both := changed.Intersection(owned)
		if both.Empty() {
			continue
		}
		raw, err := both.ToJSON()
		if err != nil {
			return nil, nil, err
		}
		taken = append(taken, Taken{Manager: e.Manager, Operation: string(e.Operation), APIVersion: e.APIVersion, Subresource: e.Subresource, Fields: raw})
		class := Classify(e)
		both.Leaves().Iterate(func(p fieldpath.Path) {
			c := Conflict{Field: p.String(), Manager: e.Manager, Class: class}
			switch {
			case e.Manager == clientSideApply && applied != nil && !applied.Has(p):
				c.Class = Defaulted
			case class.Takes() && applied != nil && applied.Has(p) && !reapplied[p.String()]:
				// A hand edit of a field the manifest sets: the next
				// kubectl apply resets it all the same.
				reapplied[p.String()] = true
				out = append(out, Conflict{Field: c.Field, Manager: clientSideApply, Class: Manifest})
			}
			out = append(out, c)
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Field != out[j].Field {
			return out[i].Field < out[j].Field
		}
		return out[i].Manager < out[j].Manager
	})
	return slices.Compact(out), taken, nil
}

// Typed types a JSON-shaped object (apiVersion and kind set) with the API's
// own schema, as the API server merges it.
func Typed(obj map[string]any) (*typed.TypedValue, error) {
	return typeConverter().ObjectToTyped(&unstructured.Unstructured{Object: obj}, typedLenient...)
}

// Owned returns the fields manager holds by server-side apply on live (its
// Apply entry of the main resource, as client-go's Extract<Kind> reads it)
// as a partial object in server-side apply form: apiVersion, kind,
// metadata.name and namespace, plus those fields with their live values.
// Unlike Extract<Kind>, it accepts a live object holding duplicate list
// keys (two env entries of one name, which client-side apply allows).
// It errs when the entry does not parse or live does not match its kind's
// schema.
func Owned(live *unstructured.Unstructured, manager string) (map[string]any, error) {
	out := map[string]any{}
	for _, e := range live.GetManagedFields() {
		if e.Manager != manager || e.Operation != metav1.ManagedFieldsOperationApply || e.Subresource != "" || e.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("reading the fields %s owns: %w", manager, err)
		}
		tv, err := typeConverter().ObjectToTyped(live, typedLenient...)
		if err != nil {
			return nil, err
		}
		if m, ok := tv.ExtractItems(set.Leaves()).AsValue().Unstructured().(map[string]any); ok {
			out = m
		}
		break
	}
	meta, _ := out["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["name"] = live.GetName()
	if ns := live.GetNamespace(); ns != "" {
		meta["namespace"] = ns
	}
	out["apiVersion"], out["kind"], out["metadata"] = live.GetAPIVersion(), live.GetKind(), meta
	return out, nil
}

// typedLenient accepts what the API server stores: a live object may hold
// duplicate list keys the server accepted before it validated them.
var typedLenient = []typed.ValidationOptions{typed.AllowDuplicates}

// clientSideApply is the field manager of `kubectl apply` without
// --server-side.
const clientSideApply = "kubectl-client-side-apply"

// lastApplied returns the fields of the manifest `kubectl apply` last
// applied (its kubectl.kubernetes.io/last-applied-configuration
// annotation, with the parents of each field), or nil when there is none
// or it cannot be read — every field kubectl owns then counts as the
// manifest's.
func lastApplied(live *unstructured.Unstructured) *fieldpath.Set {
	raw := live.GetAnnotations()[lastAppliedAnnotation]
	if raw == "" {
		return nil
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(raw)); err != nil {
		return nil
	}
	tv, err := typeConverter().ObjectToTyped(obj, typedLenient...)
	if err != nil {
		return nil
	}
	set, err := tv.ToFieldSet()
	if err != nil {
		return nil
	}
	return set
}

const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Changes returns the fields whose value applying change to live would
// add, modify or remove, with the API's merge rules.
func Changes(live *unstructured.Unstructured, change map[string]any) (*fieldpath.Set, error) {
	tc := typeConverter()
	before, err := tc.ObjectToTyped(live, typedLenient...)
	if err != nil {
		return nil, fmt.Errorf("typing %s/%s: %w", live.GetKind(), live.GetName(), err)
	}
	patch, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: change}, typedLenient...)
	if err != nil {
		return nil, fmt.Errorf("typing the change to %s/%s: %w", live.GetKind(), live.GetName(), err)
	}
	after, err := before.Merge(patch)
	if err != nil {
		return nil, fmt.Errorf("merging the change to %s/%s: %w", live.GetKind(), live.GetName(), err)
	}
	cmp, err := before.Compare(after)
	if err != nil {
		return nil, err
	}
	return cmp.Modified.Union(cmp.Added).Union(cmp.Removed), nil
}

// Taken is what a write takes from one managedFields entry of another
// manager: the entry's identity and the fields (FieldsV1 JSON). Undo gives
// them back, so that after it the entry owns what it owned before.
type Taken struct {
	Manager     string          `json:"manager"`
	Operation   string          `json:"operation"`
	APIVersion  string          `json:"apiVersion,omitempty"`
	Subresource string          `json:"subresource,omitempty"`
	Fields      json.RawMessage `json:"fields"`
}

// Takes returns, per managedFields entry of a manager other than self, the
// fields of live that applying change takes from it (those Of reports).
func Takes(live *unstructured.Unstructured, change map[string]any, self string) ([]Taken, error) {
	_, taken, err := Analyze(live, change, self)
	return taken, err
}

// GiveBack returns the managedFields of an object after an undo restored
// the values of fields taken from other managers: each field harden (self)
// still owns that a Taken lists moves back to that entry (re-created when
// it is gone). Fields harden no longer owns (someone changed them since)
// stay where they are. changed reports whether anything moved.
func GiveBack(entries []metav1.ManagedFieldsEntry, self string, taken []Taken, now metav1.Time) (out []metav1.ManagedFieldsEntry, changed bool, err error) {
	out = make([]metav1.ManagedFieldsEntry, len(entries))
	for i := range entries {
		entries[i].DeepCopyInto(&out[i])
	}
	sets := make([]*fieldpath.Set, len(out))
	for i, e := range out {
		sets[i] = &fieldpath.Set{}
		if e.FieldsV1 != nil {
			if err := sets[i].FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
				return nil, false, err
			}
		}
	}
	mine := &fieldpath.Set{}
	for i, e := range out {
		if e.Manager == self && e.Subresource == "" {
			mine = mine.Union(sets[i])
		}
	}
	for _, t := range taken {
		back := &fieldpath.Set{}
		if err := back.FromJSON(bytes.NewReader(t.Fields)); err != nil {
			return nil, false, err
		}
		back = back.Intersection(mine)
		if back.Empty() {
			continue
		}
		changed = true
		for i, e := range out {
			if e.Manager == self && e.Subresource == "" {
				sets[i] = sets[i].Difference(back)
			}
		}
		j := slices.IndexFunc(out, func(e metav1.ManagedFieldsEntry) bool {
			return e.Manager == t.Manager && string(e.Operation) == t.Operation && e.Subresource == t.Subresource
		})
		if j < 0 {
			out = append(out, metav1.ManagedFieldsEntry{Manager: t.Manager, Operation: metav1.ManagedFieldsOperationType(t.Operation),
				APIVersion: t.APIVersion, Subresource: t.Subresource, FieldsType: "FieldsV1", Time: &now})
			sets = append(sets, &fieldpath.Set{})
			j = len(out) - 1
		}
		sets[j] = sets[j].Union(back)
	}
	if !changed {
		return entries, false, nil
	}
	var kept []metav1.ManagedFieldsEntry
	for i := range out {
		if sets[i].Empty() {
			continue // an entry owning nothing is dropped, as the API server does
		}
		raw, err := sets[i].ToJSON()
		if err != nil {
			return nil, false, err
		}
		out[i].FieldsV1 = &metav1.FieldsV1{Raw: raw}
		kept = append(kept, out[i])
	}
	return kept, true, nil
}
