package cli

import (
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubectl-harden/kubectl-harden/internal/apply"
	"github.com/kubectl-harden/kubectl-harden/internal/engine"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// session is what every command that talks to the cluster shares: the
// targets, the readers and writers, and where the undo journal lives.
type session struct {
	targets inspect.Targets
	builder func() *resource.Builder
	reader  *inspect.Reader
	applier *apply.Applier
	context string
	cluster string // the API server, naming the journal's folder
	journal apply.Journal
}

// newSession completes targets with the namespace flags and builds the
// clients, collecting the API server's warnings.
//
// runs is how many workloads may be fixed at once (audit --fix --parallel;
// 1 elsewhere): the client's rate limit grows with it (clientRate).
func newSession(f cmdutil.Factory, flags *genericclioptions.ConfigFlags, t inspect.Targets, fieldManager string, force bool, runs int) (*session, error) {
	raw, err := f.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, err
	}
	if err := requireConfig(raw, flags); err != nil {
		return nil, err
	}
	s := &session{context: raw.CurrentContext, builder: f.NewBuilder, journal: apply.DefaultJournal()}
	if c := flags.Context; c != nil && *c != "" {
		s.context = *c
	}
	if t.Namespace, t.ExplicitNS, err = f.ToRawKubeConfigLoader().Namespace(); err != nil {
		return nil, err
	}
	s.targets = t
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	s.cluster = cfg.Host
	warnings := &apply.Warnings{}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandlerWithContext = warnings
	// An audit sends a few dozen requests at once (a paginated LIST per
	// kind, a dry-run per namespace): client-go's default of 5 per second
	// would keep it waiting for seconds. The server's API Priority and
	// Fairness is the limit that protects it.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = clientRate(runs)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	metrics, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	s.reader = &inspect.Reader{Client: client, Metrics: metrics}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper, err := f.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	s.applier = &apply.Applier{Client: dyn, Mapper: mapper, FieldManager: fieldManager, Force: force, Warnings: warnings}
	return s, nil
}

// engine is this session's road from workloads to fixes: with its undo
// journal, watching rollouts (or not) for up to timeout.
func (s *session) engine(watch bool, timeout time.Duration) *engine.Engine {
	return &engine.Engine{Reader: s.reader, Applier: s.applier,
		Commit: apply.Commit{Journal: s.journal, Cluster: s.cluster, Watch: watch, Timeout: timeout}}
}

// clientRate is the client's rate limit (requests per second, burst) for
// a session fixing up to runs workloads at once: 50/300 for one, and 25
// more per second for each further run. A pdb,spread fix of a Deployment
// sends about 27 requests (hack/bench-fix, counted with -v=6): 17 to read
// it and its namespace again, 3 for the dry-run, 3 for the apply, 4 for
// the rollout watch; its access reviews are asked once per namespace
// (engine.AccessCache). With a fixed 50 per second, 4 runs whose rollouts
// take a second were already waiting on the client, not on the cluster.
func clientRate(runs int) (qps float32, burst int) {
	if runs < 1 {
		runs = 1
	}
	qps = 50 + 25*float32(runs-1)
	return qps, max(300, 2*int(qps))
}
