package inspect

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// ManagedBy names the GitOps controller or package manager that owns the
// object ("Argo CD application shop", "Flux Kustomization apps", "Helm
// release web"), or "" when none is recognised. A live change to such an
// object is reverted at the next sync.
func ManagedBy(obj *unstructured.Unstructured) string {
	l, a := obj.GetLabels(), obj.GetAnnotations()
	switch {
	case a["argocd.argoproj.io/tracking-id"] != "":
		return "Argo CD (" + a["argocd.argoproj.io/tracking-id"] + ")"
	case l["argocd.argoproj.io/instance"] != "":
		return "Argo CD application " + l["argocd.argoproj.io/instance"]
	case l["kustomize.toolkit.fluxcd.io/name"] != "":
		return "Flux Kustomization " + l["kustomize.toolkit.fluxcd.io/name"]
	case l["helm.toolkit.fluxcd.io/name"] != "":
		return "Flux HelmRelease " + l["helm.toolkit.fluxcd.io/name"]
	case a["meta.helm.sh/release-name"] != "":
		return "Helm release " + a["meta.helm.sh/release-name"]
	case l["app.kubernetes.io/managed-by"] == "Helm":
		return "Helm"
	}
	return ""
}
