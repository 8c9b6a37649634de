package report

import "github.com/kubectl-harden/kubectl-harden/internal/plan"

// PatchEntry is one object of -o patch, which prints a JSON array of them
// for all the workloads of a run. An update carries the RFC 6902
// operations kubectl patch takes as they are:
//
//	kubectl patch RESOURCE -n NAMESPACE --type=json -p "$(jq -c '.[0].patch' fixes.json)"
//
// A companion cannot be patched (it does not exist yet; its RFC 6902 form,
// one "add" of the whole object at "", is refused by kubectl patch): it
// carries the manifest for kubectl apply -f instead.
type PatchEntry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Resource is the object as kubectl names it, e.g. deployment.apps/web.
	Resource string `json:"resource"`
	// Action is "update" (Patch is set) or "create" (Object is set).
	Action string   `json:"action"`
	Rules  []string `json:"rules"`
	// Fixes say, per fix, what it does to the object and where its
	// numbers come from, and what to watch for: the text report's "fix:"
	// and "warning:" lines, e.g. [{rule: replicas, description: "set
	// spec.replicas to 2 (…)", warnings: […]}].
	Fixes []plan.Note `json:"fixes"`
	// Patch turns the live object, as read, into the hardened one.
	Patch []plan.Operation `json:"patch,omitempty"`
	// Object is the companion to create.
	Object map[string]any `json:"object,omitempty"`
}

// Patches lists the objects of the plans for -o patch, in plan order
// (workloads and existing objects first, then companions, per plan); nil
// plans are skipped. It fails when an object's patch does not reproduce
// its planned after (see plan.Object.Patch).
func Patches(plans []*plan.Plan) ([]PatchEntry, error) {
	out := []PatchEntry{} // [] rather than null when nothing changes
	for _, p := range plans {
		if p == nil {
			continue
		}
		for _, o := range p.Objects {
			e := PatchEntry{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
				Resource: o.Ref(), Action: "update", Rules: o.Rules, Fixes: o.Fixes}
			if e.Fixes == nil {
				e.Fixes = []plan.Note{}
			}
			if o.Create {
				e.Action, e.Object = "create", plan.Clean(o.After)
			} else {
				ops, err := o.Patch()
				if err != nil {
					return nil, err
				}
				e.Patch = ops
			}
			out = append(out, e)
		}
	}
	return out, nil
}
