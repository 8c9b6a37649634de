package probe

import "fmt"

// The API server's defaults of a probe's fields, exported for the rules'
// descriptions (Kubernetes API reference, core/v1 Probe).
const (
	KubePeriod           = defaultPeriod           // periodSeconds
	KubeTimeout          = defaultTimeout          // timeoutSeconds
	KubeFailureThreshold = defaultFailureThreshold // failureThreshold
)

// DefaultSource says where a default number a rule writes comes from,
// against the API server's own default kube for the field: "Kubernetes'
// default" when they agree, else "harden's default; Kubernetes' is 1".
func DefaultSource(v, kube int64) string {
	if v == kube {
		return "Kubernetes' default"
	}
	return fmt.Sprintf("harden's default; Kubernetes' is %d", kube)
}

// Period is the periodSeconds of a new probe, def raised to its
// timeoutSeconds (a check starts only after the previous one timed out),
// and where it comes from: DefaultSource, or "= timeoutSeconds: a check
// starts only after the previous one timed out".
func Period(def, timeout int64) (seconds int64, why string) {
	if timeout > def {
		return timeout, "= timeoutSeconds: a check starts only after the previous one timed out"
	}
	return def, DefaultSource(def, KubePeriod)
}
