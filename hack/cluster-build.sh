#!/usr/bin/env bash
# Builds the pinned cluster binaries into bin/ (git-ignored) unless present:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler from
# hack/cluster (its own go.mod, kept out of the plugin's), and kwok.
# `cluster-build.sh kubectl` also builds kubectl, for machines without one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-$root/bin}
mkdir -p "$bin"
need=()
for b in etcd kube-apiserver kube-controller-manager kube-scheduler "$@"; do
	[[ -x $bin/$b ]] || need+=("./$b")
done
if ((${#need[@]})); then
	echo "cluster: building ${need[*]} (first build takes a few minutes)" >&2
	(cd "$root/hack/cluster" && go build -o "$bin/" "${need[@]}")
fi
if [[ ! -x $bin/kwok ]]; then
	echo "cluster: building kwok v0.7.0" >&2
	(cd "$root/hack/cluster" && GOBIN=$bin go install sigs.k8s.io/kwok/cmd/kwok@v0.7.0)
fi
