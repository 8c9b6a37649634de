package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// --dry-run is kubectl's: the three strategies, its booleans and a bare
// --dry-run (client), read by cmdutil.GetDryRunStrategy; a value it
// refuses is named by Validate with our message.
func TestFixFlagsDryRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // DryRun after Complete
		err  string // from Validate
	}{
		{nil, "none", ""},
		{[]string{"--dry-run=server"}, "server", ""},
		{[]string{"--dry-run=client"}, "client", ""},
		{[]string{"--dry-run"}, "client", ""},
		{[]string{"--dry-run=true"}, "client", ""},
		{[]string{"--dry-run=false"}, "none", ""},
		{[]string{"--dry-run=bogus"}, "bogus", `--dry-run must be "none", "server" or "client", got "bogus"`},
	} {
		o := NewHardenOptions(nil, genericiooptions.NewTestIOStreamsDiscard())
		cmd := &cobra.Command{Use: "x"}
		o.fixFlags().AddFlags(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		o.fixFlags().completeDryRun(cmd)
		err := o.fixFlags().Validate(o.selection)
		if o.DryRun != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("%v: DryRun %q, error %v; want %q, %q", tc.args, o.DryRun, err, tc.want, tc.err)
		}
	}
}

// Each command offers its part of the bundle, with its defaults and its
// own words; undo chooses no rules.
func TestFixFlagsPerCommand(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	audit, _, _ := root.Find([]string{"audit"})
	undo, _, _ := root.Find([]string{"undo"})
	for _, tc := range []struct {
		cmd          *cobra.Command
		flag, defval string
		usage        string // a part of the help text
	}{
		{root, "dry-run", "none", `"none" applies (with --yes)`},
		{root, "field-manager", "kubectl-harden", "server-side apply field manager"},
		{root, "timeout", "5m0s", "before giving up"},
		{root, "watch", "true", "watch the rollout until it completes"},
		{root, "fix", "[]", "Rules to fix"},
		{audit, "dry-run", "none", "With --fix:"},
		{audit, "timeout", "5m0s", "each rollout before rolling back"},
		{audit, "skip", "[]", "Rules to leave out"},
		{audit, "yes", "false", "With --fix: apply"},
		{undo, "force-conflicts", "false", "Undo even though"},
		{undo, "timeout", "5m0s", "How long to watch the rollout"},
		{undo, "field-manager", "kubectl-harden", "server-side apply field manager"},
	} {
		f := tc.cmd.Flags().Lookup(tc.flag)
		if f == nil {
			t.Errorf("%s: no --%s", tc.cmd.Name(), tc.flag)
			continue
		}
		if f.DefValue != tc.defval || !strings.Contains(f.Usage, tc.usage) {
			t.Errorf("%s --%s: default %q, usage %q; want %q, %q", tc.cmd.Name(), tc.flag, f.DefValue, f.Usage, tc.defval, tc.usage)
		}
	}
	for _, name := range []string{"fix", "skip", "set", "yes", "dry-run"} {
		if undo.Flags().Lookup(name) != nil {
			t.Errorf("undo offers --%s", name)
		}
	}
}

// The values every command checks the same way.
func TestFixFlagsValidate(t *testing.T) {
	valid := func() *UndoOptions { return &UndoOptions{FieldManager: "kubectl-harden", Timeout: time.Minute} }
	for _, tc := range []struct {
		edit func(*UndoOptions)
		want string
	}{
		{func(*UndoOptions) {}, ""},
		{func(o *UndoOptions) { o.FieldManager = "" }, "--field-manager must not be empty"},
		{func(o *UndoOptions) { o.Timeout = 0 }, "--timeout must be positive"},
	} {
		o := valid()
		tc.edit(o)
		err := o.fixFlags().Validate(rules.Selection{})
		if (err == nil) != (tc.want == "") || err != nil && err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// The audit refuses the fixing flags without --fix, naming the first.
func TestRefuseWithoutFix(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	o := &AuditOptions{Timeout: time.Minute}
	o.fixFlags().AddFlags(cmd)
	if err := cmd.ParseFlags([]string{"--timeout=1m", "--yes"}); err != nil {
		t.Fatal(err)
	}
	err := refuseWithoutFix(cmd, nil, "EXAMPLE")
	if err == nil || err.Error() != "--yes only applies with --fix, e.g. EXAMPLE" {
		t.Errorf("error %v", err)
	}
	if err := refuseWithoutFix(cmd, []string{"pdb"}, "EXAMPLE"); err != nil {
		t.Errorf("with --fix: %v", err)
	}
}

// A fleet's -o html goes through the same printer path as one cluster's:
// the clusters not audited are named on stderr and the page is written
// (a fleet has no session of its own; this used to be a nil dereference).
func TestFleetHTML(t *testing.T) {
	kc := closedKubeconfig(t, "one", "two")
	code, out, errOut := execute("audit", "--kubeconfig", kc, "--context", "one,two", "-o", "html")
	if code != ExitError || !strings.Contains(out, "</html>") || !strings.Contains(errOut, "error: cluster two not audited") {
		t.Errorf("exit %d, %d bytes on stdout, stderr %q", code, len(out), errOut)
	}
}
