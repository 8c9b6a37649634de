package privileged

import (
	"slices"
	"strings"
	"unicode"

	"github.com/kubectl-harden/kubectl-harden/internal/rules"
)

// use is what a privileged container is seen using its privilege for,
// and the narrower grant that does it.
type use struct {
	What    string // e.g. "iptables"
	Instead string // e.g. "capabilities.add [NET_ADMIN, NET_RAW]"
}

// hints map words of a container's image, command and args to what it
// uses privilege for. A word matches a whole token of them (split at
// anything but letters, digits, '-', '_' and '.'), or a part of a token for
// those ending in '*'.
var hints = []struct {
	words []string
	use   use
}{
	{[]string{"iptables*", "ip6tables*", "nft", "istio-cni", "linkerd-init", "proxy-init", "kube-proxy", "calico-node", "cilium-agent", "flanneld", "wg-quick"},
		use{"iptables and network setup", "capabilities.add [NET_ADMIN, NET_RAW]"}},
	{[]string{"modprobe", "insmod"}, use{"kernel modules", "capabilities.add [SYS_MODULE] (and the host's /lib/modules read-only)"}},
	{[]string{"mount", "fusermount*", "sshfs", "s3fs", "mount.nfs"}, use{"mounts", "capabilities.add [SYS_ADMIN], or a CSI driver that mounts for the pod"}},
	{[]string{"sysctl"}, use{"sysctls", "spec.securityContext.sysctls for the namespaced ones"}},
}

// usesOf lists what a privileged container is seen using its privilege
// for: words of its image, command and args (see hints), and hostPath
// volumes under /dev it mounts (a device: a device plugin grants it
// without privilege). Empty when nothing says.
func usesOf(c rules.Container, hostPaths map[string]string) []use {
	var out []use
	tokens := tokensOf(append(append([]string{c.Image}, c.Command...), c.Args...))
	for _, h := range hints {
		if slices.ContainsFunc(h.words, func(w string) bool { return matches(w, tokens) }) {
			out = append(out, h.use)
		}
	}
	for _, m := range c.VolumeMounts {
		if p := hostPaths[m.Name]; p == "/dev" || strings.HasPrefix(p, "/dev/") {
			out = append(out, use{"host device " + p, "the device through a device plugin (resources.limits), or a CDI device"})
		}
	}
	return out
}

func tokensOf(parts []string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, strings.FieldsFunc(strings.ToLower(p), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.'
		})...)
	}
	return out
}

func matches(word string, tokens []string) bool {
	if part, ok := strings.CutSuffix(word, "*"); ok {
		return slices.ContainsFunc(tokens, func(t string) bool { return strings.Contains(t, part) })
	}
	return slices.Contains(tokens, word)
}
