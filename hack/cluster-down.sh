#!/usr/bin/env bash
# Stops the local cluster started by cluster-up.sh, by the PIDs it recorded
# (never by process name, so other clusters on the machine are left alone).
# Its objects are not kept: the next cluster-up.sh starts an empty cluster.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLUSTER_DIR:-$root/.cluster}
[[ -d $dir ]] || exit 0
for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
	pidfile=$dir/$name.pid
	[[ -f $pidfile ]] || continue
	pid=$(cat "$pidfile")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		echo "cluster: stopped $name ($pid)" >&2
	fi
	rm -f "$pidfile"
done
rm -f "$dir/apiserver.url"
# The data stays on disk until the next start, which deletes it: say so.
if [[ -d $dir/etcd-data ]]; then
	echo "cluster: stopped; make cluster starts a new, empty one (its objects, the demo shop included, are not kept)" >&2
fi
