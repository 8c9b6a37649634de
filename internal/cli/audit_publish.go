package cli

import (
	"context"
	"errors"
	"fmt"
	corev1 "k8s.io/api/core/v1"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/plan"
	"github.com/kubectl-harden/kubectl-harden/internal/report"
)

// `kubectl harden audit --publish[=policyreport|openreports]`: the audit's
// reports (see package report: one per namespace, named harden-NAMESPACE,
// labelled app.kubernetes.io/managed-by=kubectl-harden) written to the
// cluster with server-side apply, where Policy Reporter and other
// PolicyReport consumers read them.

// reportAPI is one kind of report harden can publish.
type reportAPI struct {
	name     string // the --publish and -o value: policyreport or openreports
	gvr      schema.GroupVersionResource
	title    string // the CRD as the error names it
	install  string // the kubectl apply -f that installs the CRD
	openKind bool   // openreports.io Report rather than PolicyReport
}

// reportAPIs in the order --publish without a value tries them: the
// PolicyReport first, as Policy Reporter, Kyverno and Trivy Operator read
// it today. The install URLs are the CRDs this repository's e2e test
// installs (test/e2e/testdata/crds).
var reportAPIs = []reportAPI{
	{name: "policyreport", gvr: schema.GroupVersionResource{Group: report.PolicyReportGroup, Version: "v1alpha2", Resource: "policyreports"},
		title:   "PolicyReport CRD (wgpolicyk8s.io/v1alpha2)",
		install: "https://raw.githubusercontent.com/kyverno/kyverno/v1.19.1/config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml"},
	{name: "openreports", gvr: schema.GroupVersionResource{Group: report.OpenReportsGroup, Version: "v1alpha1", Resource: "reports"},
		title:   "Report CRD (openreports.io/v1alpha1)",
		install: "https://raw.githubusercontent.com/openreports/reports-api/v0.2.1/config/install.yaml", openKind: true},
}

// publishAuto is --publish without a value: the first reportAPIs entry
// whose CRD the cluster serves.
const publishAuto = "auto"

// registerPublishFlag adds --publish to the audit's flags.
func registerPublishFlag(fs *pflag.FlagSet, o *AuditOptions) {
	fs.StringVar(&o.Publish, "publish", "", "Write the audit to the cluster as reports, with server-side apply: policyreport (wgpolicyk8s.io/v1alpha2), openreports (openreports.io/v1alpha1); without a value, whichever CRD is installed, policyreport first")
	fs.Lookup("publish").NoOptDefVal = publishAuto
}

// validatePublish checks --publish: a known value, and an audit of whole
// namespaces (a report holds a namespace's every result, and replaces the
// last one).
func (o *AuditOptions) validatePublish() error {
	if o.Publish == "" {
		return nil
	}
	if o.Publish != publishAuto && !slices.ContainsFunc(reportAPIs, func(a reportAPI) bool { return a.name == o.Publish }) {
		return fmt.Errorf("--publish must be policyreport or openreports (or no value: whichever is installed), got %q", o.Publish)
	}
	if len(o.Fix) > 0 {
		return fmt.Errorf("--publish writes the audit's reports, --fix changes workloads: run them one after the other")
	}
	if o.Selector != "" || !allKinds(o.Kinds) {
		return fmt.Errorf("--publish replaces each namespace's whole report: audit every workload (without -l or --kinds)")
	}
	return nil
}

// allKinds reports whether kinds names every workload kind harden audits.
func allKinds(kinds []string) bool {
	have := map[string]bool{}
	for _, k := range kinds {
		have[inspect.CanonicalKind(k)] = true
	}
	for _, k := range inspect.KindsIn(inspect.Workloads) {
		if !have[k] {
			return false
		}
	}
	return true
}

// publish writes the audit's reports to the cluster: one per audited
// namespace, plus an emptied one for each namespace of the scope that has
// a harden report but nothing audited any more (its workloads are gone),
// so none is left stale. A result found before keeps its first timestamp,
// so publishing an unchanged audit changes nothing. It says what it wrote
// on stderr (stdout holds the audit in the -o format), one line a report.
// The exit status is 0 once written, unless --fail-on or --min-score asks
// for the gate (an in-cluster CronJob must not fail, and be retried,
// because findings are pending); an error (no CRD, rights missing, a write
// refused) exits 2.
func (o *AuditOptions) publish(ctx context.Context, scope inspect.Scope, rep *audit.Report) error {
	api, ns := o.publishTo, scope.Namespace
	res := o.applier.Client.Resource(api.gvr)
	old, err := res.Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: report.ManagedByLabel + "=" + report.ManagedBy})
	if err != nil {
		return fmt.Errorf("listing the %s published before: %s", api.gvr.GroupResource(), Explain(err))
	}
	stamps, also := earlierResults(old.Items)
	if ns != "" {
		also = append(also, ns)
	}
	now := time.Now()
	found := func(ns string, r report.PolicyReportResult) (metav1.Timestamp, bool) {
		t, ok := stamps[ns][report.ResultKey(r)]
		return t, ok
	}
	for _, p := range report.BuildPolicyReports(rep, also, now, found) {
		var obj any = p
		if api.openKind {
			obj = report.ToOpenReport(p)
		}
		if err := o.applyReport(ctx, api, obj, p, old.Items); err != nil {
			return err
		}
	}
	if (o.failOn != 0 || o.MinScore >= 0) && o.fails(rep) {
		return ExitCodeError(ExitFindings)
	}
	return nil
}

// preparePublish, before the audit, resolves --publish to a report kind
// the cluster serves and checks the rights to write it: without either,
// the audit stops before printing anything, nothing written.
func (o *AuditOptions) preparePublish(ctx context.Context, scope inspect.Scope) error {
	if o.Publish == "" {
		return nil
	}
	var err error
	if o.publishTo, err = o.reportAPI(); err != nil {
		return err
	}
	return o.checkPublishRights(ctx, o.publishTo, scope.Namespace)
}

// earlierResults reads the reports published before: each result's
// timestamp by namespace and report.ResultKey, and their namespaces.
func earlierResults(items []unstructured.Unstructured) (map[string]map[string]metav1.Timestamp, []string) {
	stamps := map[string]map[string]metav1.Timestamp{}
	var namespaces []string
	for _, u := range items {
		namespaces = append(namespaces, u.GetNamespace())
		var p report.PolicyReport // an openreports Report has the same results JSON
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
			continue // not ours to read: its results get new timestamps
		}
		m := map[string]metav1.Timestamp{}
		for _, r := range p.Results {
			m[report.ResultKey(r)] = r.Timestamp
		}
		stamps[u.GetNamespace()] = m
	}
	return stamps, namespaces
}

// applyReport server-side applies one report (field manager
// kubectl-harden, forced: harden owns these objects whole) and prints its
// line, "unchanged" when the API server kept its resourceVersion.
func (o *AuditOptions) applyReport(ctx context.Context, api reportAPI, obj any, p *report.PolicyReport, old []unstructured.Unstructured) error {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: content}
	got, err := o.applier.Client.Resource(api.gvr).Namespace(p.Namespace).Apply(ctx, p.Name, u,
		metav1.ApplyOptions{FieldManager: plan.DefaultFieldManager, Force: true})
	if namespaceGone(err) {
		// Deleted between the audit's read and this write: there is
		// nothing left to report on, and no report to keep.
		fmt.Fprintf(o.ErrOut, "%s/%s not published: namespace %s is being deleted\n", api.gvr.GroupResource(), p.Name, p.Namespace)
		return nil
	}
	if err != nil {
		return fmt.Errorf("publishing %s/%s in namespace %s: %s", api.gvr.GroupResource(), p.Name, p.Namespace, Explain(err))
	}
	state := "published"
	for _, b := range old {
		if b.GetNamespace() == p.Namespace && b.GetName() == p.Name && b.GetResourceVersion() == got.GetResourceVersion() {
			state = "unchanged"
		}
	}
	s := p.Summary
	fmt.Fprintf(o.ErrOut, "%s/%s %s in namespace %s: %d pass, %d fail, %d warn, %d error, %d skip\n",
		api.gvr.GroupResource(), p.Name, state, p.Namespace, s.Pass, s.Fail, s.Warn, s.Error, s.Skip)
	return nil
}

// reportAPI resolves --publish to the report kind to write, asking the
// API server (discovery) which CRDs it serves. A kind not served is one
// line saying how to install it, or to print the reports instead.
func (o *AuditOptions) reportAPI() (reportAPI, error) {
	var missing []string
	for _, api := range reportAPIs {
		if o.Publish != publishAuto && o.Publish != api.name {
			continue
		}
		served, err := o.serves(api.gvr)
		if err != nil {
			return reportAPI{}, err
		}
		if served {
			return api, nil
		}
		missing = append(missing, api.String())
	}
	if len(missing) == 1 {
		return reportAPI{}, fmt.Errorf("%s", missing[0])
	}
	return reportAPI{}, fmt.Errorf("neither report CRD is installed: %s", strings.Join(missing, "; "))
}

func (a reportAPI) String() string {
	return fmt.Sprintf("%s is not installed: install it with kubectl apply -f %s or use -o %s", a.title, a.install, a.name)
}

// serves reports whether the API server serves the resource (its
// group/version lists it).
func (o *AuditOptions) serves(gvr schema.GroupVersionResource) (bool, error) {
	list, err := o.reader.Client.Discovery().ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("asking the API server whether it serves %s: %s", gvr.GroupVersion(), Explain(err))
	}
	return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == gvr.Resource }), nil
}

// checkPublishRights asks the API server (SelfSubjectAccessReviews, as the
// fix path does) for what publishing needs in namespace ns ("" for every
// namespace, -A): list (the reports published before), create and patch
// (server-side apply). Nothing is written without them.
func (o *AuditOptions) checkPublishRights(ctx context.Context, api reportAPI, ns string) error {
	var missing []engine.Right
	for _, verb := range []string{"list", "create", "patch"} {
		r := engine.Right{Verb: verb, Group: api.gvr.Group, Resource: api.gvr.Resource, Namespace: ns,
			For: "the audit's reports could not be published (docs/rbac/harden-publish.yaml grants what --publish needs)"}
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: r.Group, Resource: r.Resource}}}
		got, err := o.reader.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		switch {
		// An API server that answers no access reviews is no reason to
		// refuse: the writes meet the same authoriser.
		case apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
			continue
		case err != nil:
			return fmt.Errorf("checking your rights to publish: %s", Explain(err))
		case !got.Status.Allowed:
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return &engine.AccessError{Missing: missing}
	}
	return nil
}

// namespaceGone reports whether a write was refused because its namespace
// is being deleted (the NamespaceLifecycle admission's
// NamespaceTerminating cause) or is gone (a NotFound naming namespaces).
func namespaceGone(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	var status apierrors.APIStatus
	if apierrors.IsNotFound(err) && errors.As(err, &status) {
		d := status.Status().Details
		return d != nil && d.Kind == "namespaces"
	}
	return false
}
