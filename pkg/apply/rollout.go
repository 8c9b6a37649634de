package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"github.com/kubectl-harden/kubectl-harden/pkg/plan"
)

// Rolls reports whether changing this object rolls out new pods worth
// watching.
func Rolls(o *plan.Object) bool {
	switch o.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return !o.Create
	}
	return false
}

// Failing names a pod that will not become ready on its own (a crash
// loop, a config error…) and why, or returns "".
type Failing func(ctx context.Context) (string, error)

// WaitRollout waits, with kubectl rollout status' own status viewers, until
// the object's rollout completes, the progress deadline is exceeded, the
// timeout passes, or failing reports a pod that will not recover.
// progress receives each new status line.
func (a *Applier) WaitRollout(ctx context.Context, o *plan.Object, timeout time.Duration, progress func(string), failing Failing) error {
	r, err := a.resource(o)
	if err != nil {
		return err
	}
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return err
	}
	viewer, err := polymorphichelpers.StatusViewerFor(gv.WithKind(o.Kind).GroupKind())
	if err != nil {
		return err
	}
	last := ""
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		obj, err := r.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		msg, done, err := viewer.Status(obj, 0)
		if err != nil {
			return false, err // e.g. progress deadline exceeded
		}
		if !done && failing != nil {
			if why, err := failing(ctx); err != nil || why != "" {
				return false, errors.Join(err, errors.New(why))
			}
		}
		if msg != last && progress != nil {
			progress(msg)
		}
		last = msg
		return done, nil
	})
	if err != nil {
		if wait.Interrupted(err) {
			return fmt.Errorf("rollout of %s did not complete within %s: %s", o.Ref(), timeout, last)
		}
		return fmt.Errorf("rollout of %s failed: %w", o.Ref(), err)
	}
	return nil
}
