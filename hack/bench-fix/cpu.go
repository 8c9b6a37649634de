package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// controlPlane is the local cluster's processes whose CPU time a run
// costs, as hack/cluster-up.sh names their PID files (NAME.pid in the
// cluster's directory).
var controlPlane = []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok"}

// cpuTimes is the CPU time each control-plane process has used so far,
// by name; a process whose PID file or /proc entry cannot be read is
// left out.
type cpuTimes map[string]time.Duration

// userHZ is the unit of /proc/PID/stat's CPU times: USER_HZ, which Linux
// fixes at 100 per second for user space on every architecture it keeps
// that ABI for (getconf CLK_TCK).
const userHZ = 100

// readCPU reads, for each process of controlPlane with a PID file in dir,
// its user plus system CPU time from /proc/PID/stat (fields 14 and 15,
// every thread's, in 1/userHZ s). An empty dir reads nothing.
func readCPU(dir string) cpuTimes {
	out := cpuTimes{}
	if dir == "" {
		return out
	}
	for _, name := range controlPlane {
		pid, err := os.ReadFile(filepath.Join(dir, name+".pid"))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat"))
		if err != nil {
			continue
		}
		if d, ok := cpuOf(string(stat)); ok {
			out[name] = d
		}
	}
	return out
}

// cpuOf is utime + stime of a /proc/PID/stat line. The command name, field
// 2, is in parentheses and may hold spaces: fields are counted after its
// closing one (field 3 is the first there).
func cpuOf(stat string) (time.Duration, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(stat[i+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, false
	}
	u, err1 := strconv.ParseInt(fields[utime], 10, 64)
	s, err2 := strconv.ParseInt(fields[stime], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * time.Second / userHZ, true
}

// since is the CPU time each process used from before to t, for those
// read both times.
func (t cpuTimes) since(before cpuTimes) cpuTimes {
	out := cpuTimes{}
	for name, d := range t {
		if b, ok := before[name]; ok {
			out[name] = d - b
		}
	}
	return out
}

// total is the CPU time of every process.
func (t cpuTimes) total() time.Duration {
	var sum time.Duration
	for _, d := range t {
		sum += d
	}
	return sum
}

// String is "12.3 s (kube-apiserver 8.1, etcd 1.2, …)" in controlPlane's
// order, or "—" when nothing was read.
func (t cpuTimes) String() string {
	if len(t) == 0 {
		return "—"
	}
	var parts []string
	for _, name := range controlPlane {
		if d, ok := t[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f", name, d.Seconds()))
		}
	}
	return fmt.Sprintf("%.1f s (%s)", t.total().Seconds(), strings.Join(parts, ", "))
}

// clusterDir is the directory of the local cluster's PID files: the
// directory of the kubeconfig (hack/cluster-up.sh writes both into
// CLUSTER_DIR) when it holds kube-apiserver.pid, else "".
func clusterDir() string {
	kc := os.Getenv("KUBECONFIG")
	if kc == "" || strings.Contains(kc, string(os.PathListSeparator)) {
		return ""
	}
	dir := filepath.Dir(kc)
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver.pid")); err != nil {
		return ""
	}
	return dir
}
