package inspect

import (
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func unstructuredOf(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

const mergedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}'}
  managedFields:
  - manager: kubectl-client-side-apply
    operation: Update
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {f:replicas: {}}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 25%, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
        securityContext: {runAsUser: 0}
      - name: sidecar
        image: busybox
      volumes: [{name: data, emptyDir: {}}]
status: {replicas: 1, readyReplicas: 1}
`

const mergedCronJob = `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: job, image: busybox}]
`

// Merged converts only what a change names, yet gives the typed object a
// whole conversion of the merged object gives, and leaves the workload it
// started from as it was.
func TestMergedEqualsWholeConversion(t *testing.T) {
	for _, tc := range []struct{ name, live, change string }{
		{"container security context", mergedDeployment, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop},
			spec: {template: {spec: {containers: [{name: web, securityContext: {runAsNonRoot: true, runAsUser: 10001, capabilities: {drop: [ALL]}}}]}}}}`},
		{"pod security context from nothing", mergedDeployment, `{kind: Deployment, metadata: {name: web}, spec: {template: {spec: {securityContext: {seccompProfile: {type: RuntimeDefault}}, automountServiceAccountToken: false}}}}`},
		{"replicas and strategy", mergedDeployment, `{kind: Deployment, metadata: {name: web}, spec: {replicas: 3, strategy: {rollingUpdate: {maxUnavailable: 0}}}}`},
		{"resources and probes", mergedDeployment, `{kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: sidecar, resources: {limits: {memory: 128Mi}},
			readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 10}}]}}}}`},
		{"labels, annotations, spread, volumes", mergedDeployment, `{kind: Deployment, metadata: {name: web, labels: {tier: front}}, spec: {template: {metadata: {annotations: {a: b}},
			spec: {topologySpreadConstraints: [{topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, maxSkew: 1, labelSelector: {matchLabels: {app: web}}}],
			volumes: [{name: tmp, emptyDir: {medium: Memory}}]}}}}`},
		{"a field removed", mergedDeployment, `{kind: Deployment, metadata: {name: web}, spec: {strategy: {rollingUpdate: null}}}`},
		{"a field the type lacks", mergedDeployment, `{kind: Deployment, metadata: {name: web}, spec: {template: {spec: {noSuchField: 1}}}}`},
		{"cronjob template", mergedCronJob, `{kind: CronJob, metadata: {name: nightly}, spec: {concurrencyPolicy: Forbid,
			jobTemplate: {spec: {activeDeadlineSeconds: 600, template: {spec: {containers: [{name: job, securityContext: {readOnlyRootFilesystem: true}}]}}}}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live, err := NewWorkload(unstructuredOf(t, tc.live))
			if err != nil {
				t.Fatal(err)
			}
			before := live.Object.DeepCopy()
			typedBefore := live.typed().DeepCopyObject()
			got, err := live.Merged(unstructuredOf(t, tc.change).Object)
			if err != nil {
				t.Fatal(err)
			}
			want, err := NewWorkload(got.Object.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			if !apiequality.Semantic.DeepEqual(got.typed(), want.typed()) {
				t.Errorf("typed object differs from a whole conversion:\n got %#v\nwant %#v", got.typed(), want.typed())
			}
			if !apiequality.Semantic.DeepEqual(live.Object, before) || !apiequality.Semantic.DeepEqual(live.typed(), typedBefore) {
				t.Error("the live workload changed")
			}
		})
	}
}
