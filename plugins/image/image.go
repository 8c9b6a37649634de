// Package image pins :latest and untagged images to the digest the pods
// actually run, so the fix changes nothing at runtime.
package image

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/plugins/internal/pss"
)

func init() { rules.Register(Rule{}) }

// Rule is the image rule.
type Rule struct{}

const id = "image"

var digestRE = regexp.MustCompile(`@(sha256:[0-9a-f]{64})$`)

// Meta describes the rule.
func (Rule) Meta() rules.Meta {
	return rules.Meta{
		ID: id, Title: "Immutable image references", Category: rules.Security, Severity: rules.High,
		Kinds: pss.Kinds,
		Why: "An image tagged :latest (or untagged) is whatever was pushed last: two nodes may run two " +
			"versions, a restart silently upgrades, and a rollback has nothing to roll back to.",
		Remediation: "Reference images by digest. harden pins each :latest or untagged image to the digest " +
			"its running pods report (status.containerStatuses[].imageID), so nothing changes at runtime, " +
			"and sets imagePullPolicy: IfNotPresent, right for an immutable reference.",
		Fixable: true,
		OptOuts: []rules.OptOut{{Annotation: "kube-score/ignore", Value: "container-image-tag"}, {Annotation: "ignore-check.kube-linter.io/latest-tag"},
			{Annotation: "polaris.fairwinds.com/tagNotSpecified-exempt"}},
	}
}

// tag returns the image's tag ("" when none) and whether it has a digest.
func tag(image string) (string, bool) {
	if strings.Contains(image, "@") {
		return "", true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[i+1:], false
	}
	return "", false
}

// Check reports mutable references, and Always pulls of a digest.
func (r Rule) Check(s *inspect.Snapshot) []rules.Finding {
	var out []rules.Finding
	for _, c := range rules.Containers(s) {
		t, digest := tag(c.Image)
		switch {
		case !digest && (t == "" || t == "latest"):
			what := "no tag"
			if t == "latest" {
				what = ":latest"
			}
			out = append(out, rules.Finding{Container: c.Name, Field: "image",
				Message: fmt.Sprintf("container %s runs %s (%s): nodes may run different versions and rollbacks are impossible", c.Name, c.Image, what)})
		case digest && c.ImagePullPolicy == corev1.PullAlways:
			out = append(out, rules.Finding{Severity: rules.Low, Container: c.Name, Field: "imagePullPolicy",
				Message: fmt.Sprintf("container %s pulls its immutable digest again at every start (imagePullPolicy: Always)", c.Name)})
		}
	}
	return out
}

// running returns the digests the pods report for a container.
func running(s *inspect.Snapshot, container string) []string {
	seen := map[string]bool{}
	for _, p := range s.Pods {
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if cs.Name != container {
				continue
			}
			if m := digestRE.FindStringSubmatch(cs.ImageID); m != nil {
				seen[m[1]] = true
			}
		}
	}
	var out []string
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// pullPolicy is the container's imagePullPolicy as the pods run it: the
// spec's, else the API server's default for its reference (Always for
// :latest or no tag, IfNotPresent otherwise; k8s.io/kubernetes
// pkg/apis/core/v1 SetDefaults_Container).
func pullPolicy(c rules.Container) corev1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	if t, digest := tag(c.Image); !digest && (t == "" || t == "latest") {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// Fix pins the image to the one digest all pods run, and pulls it only
// when missing (imagePullPolicy: IfNotPresent); its description says when
// that changes the pull policy, e.g. "pin web to sha256:…, the digest its
// pods run, and pull it only when missing (imagePullPolicy: Always →
// IfNotPresent)".
func (Rule) Fix(s *inspect.Snapshot, f rules.Finding, _ rules.Params) (*rules.Fix, error) {
	target, err := rules.ContainerNamed(s, f.Container)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{"imagePullPolicy": string(corev1.PullIfNotPresent)}
	desc := "pull " + target.Name + "'s digest only when missing (imagePullPolicy: Always → IfNotPresent)"
	if f.Field == "image" {
		digests := running(s, target.Name)
		switch len(digests) {
		case 0:
			return nil, rules.NeedsHumanf("no running pod reports the digest container %s runs: pin a version tag or a digest by hand", target.Name)
		case 1:
		default:
			return nil, rules.NeedsHumanf("the pods of container %s run %d different digests (%s): choose one by hand", target.Name, len(digests), strings.Join(digests, ", "))
		}
		fields["image"] = target.Image + "@" + digests[0]
		desc = "pin " + target.Name + " to " + digests[0] + ", the digest its pods run"
		if p := pullPolicy(target); p != corev1.PullIfNotPresent {
			desc += ", and pull it only when missing (imagePullPolicy: " + string(p) + " → IfNotPresent)"
		}
	}
	return &rules.Fix{Description: desc, Changes: []rules.Change{target.WorkloadChange(s, fields)}}, nil
}
