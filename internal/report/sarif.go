package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/kubectl-harden/kubectl-harden/internal/audit"
	"github.com/kubectl-harden/kubectl-harden/internal/inspect"
	"github.com/kubectl-harden/kubectl-harden/internal/rules"
	"github.com/kubectl-harden/kubectl-harden/internal/version"
)

// SARIF 2.1.0 as GitHub code scanning reads it: only the properties it
// uses. https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// InformationURI is where a SARIF viewer links the tool's name.
	InformationURI = "https://github.com/kubectl-harden/kubectl-harden"
	// fingerprintKey names harden's partial fingerprint; bump the suffix if
	// what it hashes ever changes, so old alerts are not matched wrongly.
	fingerprintKey = "kubectlHarden/v1"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool sarifTool `json:"tool"`
	// AutomationDetails names the run in a fleet audit: one run per
	// cluster, each its own code scanning category.
	AutomationDetails *sarifAutomation  `json:"automationDetails,omitempty"`
	Invocations       []sarifInvocation `json:"invocations,omitempty"`
	Results           []sarifResult     `json:"results"`
	// Properties hold the policy file used, {"policy": {path, sha256}},
	// and in a fleet audit the cluster's context, {"cluster": NAME}.
	Properties map[string]any `json:"properties,omitempty"`
}

// sarifInvocation is the run's one invocation, present when the API server
// refused reads: each is a warning notification (the audit itself
// succeeded, on what it could read).
type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level      string         `json:"level"`
	Message    sarifText      `json:"message"`
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	SemanticVer    string      `json:"semanticVersion,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical     `json:"physicalLocation"`
	LogicalLocations []sarifLogicalLoc `json:"logicalLocations"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLoc struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

// SARIFLevel maps a severity to a SARIF level: critical and high are
// errors, medium warnings, low notes.
func SARIFLevel(sev rules.Severity) string {
	switch sev {
	case rules.Critical, rules.High:
		return "error"
	case rules.Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's CVSS-like score for a security rule; it
// files the alert as critical (≥9), high (≥7), medium (≥4) or low.
func securitySeverity(sev rules.Severity) string {
	return map[rules.Severity]string{rules.Critical: "9.5", rules.High: "8.0", rules.Medium: "5.5", rules.Low: "3.0"}[sev]
}

// ArtifactURI is the stable, relative path that stands for a live object in
// SARIF: a live object has no file, but code scanning needs a location, and
// the same object must map to the same path on every run.
func ArtifactURI(namespace, kind, name string) string {
	if kind == "Namespace" {
		return "namespaces/" + namespace + ".yaml"
	}
	return "namespaces/" + namespace + "/" + strings.ToLower(kind) + "/" + name + ".yaml"
}

// WriteAuditSARIF writes the audit as one SARIF 2.1.0 run: the rule
// registry as the driver's rules, each pending finding as a result, each
// exempted one as a result with an external suppression, and each read the
// API server refused as a warning of the run's invocation
// (invocations[0].toolExecutionNotifications).
func WriteAuditSARIF(w io.Writer, rep *audit.Report) error {
	run, err := sarifRunOf(rep)
	if err != nil {
		return err
	}
	return writeSARIF(w, run)
}

// writeSARIF encodes the runs as one SARIF 2.1.0 log, indented.
func writeSARIF(w io.Writer, runs ...sarifRun) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: runs})
}

// sarifDriverOf is kubectl-harden as a SARIF tool: its version and every
// rule, workload rules then namespace rules, with each rule's index.
func sarifDriverOf() (sarifDriver, map[string]int) {
	// SARIF viewers compare versions numerically: no leading v.
	driver := sarifDriver{Name: "kubectl-harden", Version: strings.TrimPrefix(version.Version, "v"), InformationURI: InformationURI}
	if driver.Version != version.Version {
		driver.SemanticVer = driver.Version
	}
	index := map[string]int{}
	var metas []rules.Meta
	for _, r := range rules.All() {
		metas = append(metas, r.Meta())
	}
	for _, r := range rules.NamespaceRules() {
		metas = append(metas, r.Meta())
	}
	for _, m := range metas {
		index[m.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRuleOf(m))
	}
	return driver, index
}

// sarifRunOf is one audit report as one SARIF run (see WriteAuditSARIF).
func sarifRunOf(rep *audit.Report) (sarifRun, error) {
	driver, index := sarifDriverOf()
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	seen := map[string]int{}
	add := func(ns, kind, name string, f rules.Result) error {
		i, ok := index[f.Rule]
		if !ok {
			return fmt.Errorf("sarif: finding of unknown rule %q", f.Rule)
		}
		res := sarifResult{RuleID: f.Rule, RuleIndex: i, Level: SARIFLevel(f.Severity),
			Message:   sarifText{Text: sarifMessage(ns, kind, name, f)},
			Locations: []sarifLocation{location(ns, kind, name)},
			Properties: map[string]any{"severity": f.Severity.String(), "category": string(f.Category),
				"status": string(f.Status)}}
		if f.Reason != "" {
			res.Properties["reason"] = f.Reason
		}
		if f.Fix != nil {
			// What the planned fix does, with the source of its numbers.
			res.Properties["fix"] = map[string]any{"description": f.Fix.Description, "warnings": append([]string{}, f.Fix.Warnings...)}
		}
		// The fingerprint names what the finding is about, never its
		// message (which carries live counts), so a re-run matches.
		key := strings.Join([]string{f.Rule, ns, kind, name, f.Container, f.Field}, "\x00")
		seen[key]++
		if n := seen[key]; n > 1 {
			key += fmt.Sprintf("\x00%d", n)
		}
		sum := sha256.Sum256([]byte(key))
		res.PartialFingerprints = map[string]string{fingerprintKey: hex.EncodeToString(sum[:16])}
		if f.Status == rules.StatusExempted {
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.Reason}}
		}
		run.Results = append(run.Results, res)
		return nil
	}
	for _, n := range rep.Namespaces {
		for _, f := range n.Findings {
			if f.Pending() || f.Status == rules.StatusExempted {
				if err := add(n.Name, "Namespace", n.Name, f); err != nil {
					return sarifRun{}, err
				}
			}
		}
		for _, wl := range n.Workloads {
			for _, f := range wl.Findings {
				if f.Pending() || f.Status == rules.StatusExempted {
					if err := add(n.Name, wl.Kind, wl.Name, f); err != nil {
						return sarifRun{}, err
					}
				}
			}
		}
	}
	run.Invocations = sarifInvocations(rep.Unread)
	if rep.Policy != nil {
		run.Properties = map[string]any{"policy": rep.Policy}
	}
	return run, nil
}

// sarifInvocations is one invocation with a warning per read the API
// server refused, e.g. "zones unknown: nodes cannot be listed (forbidden)"
// with the resource, verb, reason and the API server's message as
// properties; none when every read was made.
func sarifInvocations(unread []inspect.Unread) []sarifInvocation {
	if len(unread) == 0 {
		return nil
	}
	inv := sarifInvocation{ExecutionSuccessful: true}
	for _, u := range unread {
		props := map[string]any{"resource": u.Resource, "verb": u.Verb, "reason": u.Reason}
		if u.Message != "" {
			props["apiServerMessage"] = u.Message
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			sarifNotification{Level: "warning", Message: sarifText{Text: u.String()}, Properties: props})
	}
	return []sarifInvocation{inv}
}

func sarifRuleOf(m rules.Meta) sarifRule {
	tags := []string{string(m.Category), "kubernetes"}
	props := map[string]any{"tags": tags, "category": string(m.Category), "fixable": m.Fixable}
	if m.Category == rules.Security {
		// GitHub shows security-severity only for rules tagged security.
		props["tags"] = []string{"security", "kubernetes"}
		props["security-severity"] = securitySeverity(m.Severity)
	}
	help := m.Remediation
	md := m.Remediation
	if m.Fixable {
		fix := fmt.Sprintf("kubectl harden TYPE/NAME -n NAMESPACE --fix=%s --yes", m.ID)
		help += "\n\nAutomatic fix: " + fix
		md += "\n\nAutomatic fix: `" + fix + "`"
	}
	return sarifRule{ID: m.ID, Name: pascal(m.Title), ShortDescription: sarifText{Text: m.Title},
		FullDescription: sarifText{Text: m.Why}, Help: sarifText{Text: help, Markdown: md},
		HelpURI:              InformationURI + "/blob/main/docs/rules.md#" + m.ID,
		DefaultConfiguration: sarifConfig{Level: SARIFLevel(m.Severity)}, Properties: props}
}

func location(ns, kind, name string) sarifLocation {
	fqn, lk := ns+"/"+strings.ToLower(kind)+"/"+name, "resource"
	if kind == "Namespace" {
		fqn, lk = ns, "namespace"
	}
	return sarifLocation{
		PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: ArtifactURI(ns, kind, name)}, Region: sarifRegion{StartLine: 1}},
		LogicalLocations: []sarifLogicalLoc{{Name: name, FullyQualifiedName: fqn, Kind: lk}},
	}
}

func sarifMessage(ns, kind, name string, f rules.Result) string {
	subject := strings.ToLower(kind) + "/" + name + " in namespace " + ns
	if kind == "Namespace" {
		subject = "namespace " + ns
	}
	msg := subject + ": " + f.Message
	switch {
	case f.Status == rules.StatusNeedsHuman && f.Reason != "" && f.Reason != f.Message:
		msg += " (needs a human: " + f.Reason + ")"
	case f.Status == rules.StatusPlanned && f.Fix != nil && f.Fix.Description != "":
		msg += ". Planned fix: " + f.Fix.Description
	case kind != "Namespace" && f.Status == rules.StatusNotSelected && Note(f) == "":
		if r, ok := rules.Get(f.Rule); ok && r.Meta().Fixable {
			msg += ". Fix: " + FixCommand(ns, kind, name, []string{f.Rule})
		}
	case f.Status == rules.StatusNotSelected:
		// Opt-in, or fixable only with the fixes --fix=all adds: the
		// reason says how.
		msg += " (" + f.Reason + ")"
	case f.Status == rules.StatusSkipped && f.Reason != rules.SkippedByFlag:
		msg += " (skipped: " + f.Reason + ")"
	}
	return msg
}

// pascal turns a rule's title such as "Readiness probe" into
// ReadinessProbe: SARIF's name is a readable identifier, and must differ
// from the opaque id (the SARIF multitool warns when they match).
func pascal(title string) string {
	var b strings.Builder
	for _, word := range strings.FieldsFunc(title, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		r := []rune(word)
		b.WriteString(strings.ToUpper(string(r[0])) + string(r[1:]))
	}
	return b.String()
}
