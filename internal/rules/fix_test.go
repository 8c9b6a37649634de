package rules

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-harden/kubectl-harden/internal/owners"
)

// A result carries its fix's description and warnings into JSON, beside
// every other field, and reads them back; a result without a fix has no
// "fix" key, and changes are never written.
func TestResultJSONCarriesTheFix(t *testing.T) {
	r := Result{Finding: Finding{Rule: "resources", Severity: Medium, Category: Resources, Message: "container web has no requests.cpu", Container: "web"},
		Status: StatusPlanned, Owners: []owners.Conflict{{Field: ".spec.replicas", Manager: "kubectl"}},
		Fix: &Fix{Description: "set requests.cpu 200m (LimitRange lr defaultRequest) of container web", Warnings: []string{"w1"},
			Changes: []Change{{Object: map[string]any{"kind": "Deployment"}}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`"rule":"resources"`, `"severity":"medium"`, `"container":"web"`, `"status":"planned"`, `"owners":[`,
		`"fix":{"description":"set requests.cpu 200m (LimitRange lr defaultRequest) of container web","warnings":["w1"]}`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "Deployment") {
		t.Errorf("changes written: %s", got)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Fix == nil || back.Fix.Description != r.Fix.Description ||
		back.Fix.Warnings[0] != "w1" || back.Rule != "resources" || back.Severity != Medium || back.Status != StatusPlanned {
		t.Errorf("read back %v: %+v %+v", err, back, back.Fix)
	}
	r.Fix = nil
	if b, _ := json.Marshal(r); strings.Contains(string(b), `"fix"`) {
		t.Errorf("no fix, yet %s", b)
	}
}
