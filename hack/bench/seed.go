package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// benchLabel marks everything the bench creates, so it can be found (and
// deleted with `kubectl delete ns -l harden-bench=true`).
const benchLabel = "harden-bench"

const fieldManager = "harden-bench"

// mix is how many workloads of each kind one namespace holds.
type mix struct{ deployments, statefulSets, daemonSets, cronJobs int }

// mixOf splits n workloads: mostly Deployments (2 replicas), a fifth
// StatefulSets, one DaemonSet per 25 (each runs a pod on every node),
// a sixth CronJobs.
func mixOf(n int) mix {
	m := mix{statefulSets: n / 5, daemonSets: max(1, n/25), cronJobs: n / 6}
	m.deployments = n - m.statefulSets - m.daemonSets - m.cronJobs
	return m
}

// pods is how many pods the mix runs on a cluster of this many nodes.
func (m mix) pods(nodes int) int {
	return 2*m.deployments + m.statefulSets + m.daemonSets*nodes
}

// objects are one namespace's objects, in apply order.
func (m mix) objects(ns string, index int) []any {
	var out []any
	add := func(o any) { out = append(out, o) }
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{benchLabel: "true"}}
	}
	tm := func(apiVersion, kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
	}
	if index%2 == 0 {
		// Half the namespaces deny ingress by default.
		add(&networkingv1.NetworkPolicy{TypeMeta: tm("networking.k8s.io/v1", "NetworkPolicy"), ObjectMeta: meta("default-deny"),
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}})
	}
	for i := range m.deployments {
		name := fmt.Sprintf("web-%02d", i)
		add(&appsv1.Deployment{TypeMeta: tm("apps/v1", "Deployment"), ObjectMeta: meta(name), Spec: appsv1.DeploymentSpec{
			Replicas: ref[int32](2), Selector: selector(name), Template: template(name, i)}})
		add(service(meta(name), name, false))
		if i%2 == 0 {
			add(&policyv1.PodDisruptionBudget{TypeMeta: tm("policy/v1", "PodDisruptionBudget"), ObjectMeta: meta(name),
				Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ref(intstr.FromInt32(1)), Selector: selector(name)}})
		}
		if i%5 == 0 {
			add(&autoscalingv2.HorizontalPodAutoscaler{TypeMeta: tm("autoscaling/v2", "HorizontalPodAutoscaler"), ObjectMeta: meta(name),
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ref[int32](2), MaxReplicas: 6,
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
					Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ref[int32](70)}}}}}})
		}
	}
	for i := range m.statefulSets {
		name := fmt.Sprintf("db-%02d", i)
		add(service(meta(name), name, true))
		add(&appsv1.StatefulSet{TypeMeta: tm("apps/v1", "StatefulSet"), ObjectMeta: meta(name), Spec: appsv1.StatefulSetSpec{
			Replicas: ref[int32](1), ServiceName: name, PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector: selector(name), Template: template(name, i)}})
	}
	for i := range m.daemonSets {
		name := fmt.Sprintf("agent-%02d", i)
		add(&appsv1.DaemonSet{TypeMeta: tm("apps/v1", "DaemonSet"), ObjectMeta: meta(name), Spec: appsv1.DaemonSetSpec{
			Selector: selector(name), Template: template(name, i)}})
	}
	for i := range m.cronJobs {
		name := fmt.Sprintf("report-%02d", i)
		t := template(name, i)
		t.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		// New Year's Day: no Job is started while the bench runs.
		add(&batchv1.CronJob{TypeMeta: tm("batch/v1", "CronJob"), ObjectMeta: meta(name), Spec: batchv1.CronJobSpec{
			Schedule: "0 0 1 1 *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}}}})
	}
	return out
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

// template varies with i so that the audit and kube-score find a realistic
// spread of issues: some pods have probes, resources or a hardened
// securityContext, some have none.
func template(app string, i int) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: fmt.Sprintf("registry.example/bench/%s:1.%d", app, i%4),
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	if i%3 != 0 {
		c.Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
	}
	if i%2 == 0 {
		probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}}
		c.ReadinessProbe, c.LivenessProbe = probe, probe
	}
	if i%4 == 1 {
		c.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ref(false), ReadOnlyRootFilesystem: ref(true),
			RunAsNonRoot: ref(true), RunAsUser: ref[int64](10001),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	}
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app, benchLabel: "true"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

func service(meta metav1.ObjectMeta, app string, headless bool) *corev1.Service {
	s := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta,
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

// seeder creates the bench's objects with server-side apply: applying again
// changes nothing, so a second run reuses them.
type seeder struct {
	client      kubernetes.Interface
	namespaces  []string
	mix         mix
	concurrency int
}

func (s *seeder) seed(ctx context.Context) error {
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	for _, ns := range s.namespaces {
		g.Go(func() error {
			return s.apply(gctx, &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{benchLabel: "true"}}})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Pods need the namespace's default ServiceAccount, which the
	// controller manager makes.
	for _, ns := range s.namespaces {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := s.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			return fmt.Errorf("namespace %s has no default ServiceAccount: %w", ns, err)
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	n := 0
	for i, ns := range s.namespaces {
		for _, o := range s.mix.objects(ns, i) {
			n++
			g.Go(func() error { return s.apply(gctx, o) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: applied %d namespaces and %d objects in %s\n", len(s.namespaces), n, time.Since(start).Round(time.Millisecond))
	return nil
}

// apply server-side applies one typed object.
func (s *seeder) apply(ctx context.Context, obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: ref(true)}
	c := s.client
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = c.CoreV1().Namespaces().Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *corev1.Service:
		_, err = c.CoreV1().Services(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *appsv1.Deployment:
		_, err = c.AppsV1().Deployments(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *appsv1.StatefulSet:
		_, err = c.AppsV1().StatefulSets(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *appsv1.DaemonSet:
		_, err = c.AppsV1().DaemonSets(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *batchv1.CronJob:
		_, err = c.BatchV1().CronJobs(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *policyv1.PodDisruptionBudget:
		_, err = c.PolicyV1().PodDisruptionBudgets(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *autoscalingv2.HorizontalPodAutoscaler:
		_, err = c.AutoscalingV2().HorizontalPodAutoscalers(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *networkingv1.NetworkPolicy:
		_, err = c.NetworkingV1().NetworkPolicies(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	default:
		return fmt.Errorf("bench: cannot apply a %T", obj)
	}
	if err != nil {
		return fmt.Errorf("applying %T: %w", obj, err)
	}
	return nil
}
