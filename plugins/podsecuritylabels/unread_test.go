package podsecuritylabels

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
)

// A namespace that could not be read (GET refused) has unknown labels: the
// rule does not claim "no label", it says what it cannot see.
func TestNamespaceUnread(t *testing.T) {
	ns := &inspect.NamespaceSnapshot{Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, Workloads: 1,
		Unread: []inspect.Unread{{Resource: inspect.ResNamespaces, Verb: "get", Reason: inspect.ReasonForbidden}}}
	fs := Rule{}.Check(ns)
	if len(fs) != 1 || strings.Contains(fs[0].Message, "no "+EnforceLabel) ||
		!strings.Contains(fs[0].Message, "label is unknown (namespace labels unknown: namespaces forbidden)") ||
		!strings.Contains(fs[0].NeedsHuman, "kubectl get ns shop --show-labels") {
		t.Errorf("findings %+v", fs)
	}
	// A refused LIST of namespaces (the traffic read) says nothing of this
	// one's labels.
	ns.Unread[0].Verb = "list"
	if fs := (Rule{}).Check(ns); len(fs) != 1 || !strings.Contains(fs[0].Message, "no "+EnforceLabel) {
		t.Errorf("list refused: %+v", fs)
	}
}
