#!/usr/bin/env bash
# Starts a real local cluster on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok with 6 fake nodes spread
# over zone-a/b/c. State (certs, data, logs, PIDs, kubeconfig) lives in
# $CLUSTER_DIR. Reuses a cluster that is already running there.
#
# Usage: hack/cluster-up.sh            (prints export KUBECONFIG=...)
#
# A second, independent cluster (a fleet test's) runs beside the first with
# its own directory and names; the defaults are the first's:
#   CLUSTER_DIR=DIR                 state, PIDs and kubeconfig (.cluster)
#   HARDEN_CLUSTER_NAME=NAME        the cluster and admin context's name
#                                   (harden-local); its users and the
#                                   limited context are NAME-admin,
#                                   NAME-limited, so kubeconfigs merge
#   HARDEN_CLUSTER_NODES=N          kwok nodes over zone-a/b/c (6)
#   HARDEN_CLUSTER_PORT_OFFSET=K    added to the first ports tried (0):
#                                   etcd 23790, kube-apiserver 26443, kwok
#                                   10247; a port in use is skipped anyway
#
# A cluster for the bench's scale sweep (make bench-sweep: up to 20,000
# workloads and ~30,000 pods) needs more than the defaults allow:
#   HARDEN_CLUSTER_LARGE=1          etcd's quota 8 GiB; the API server's
#                                   in-flight limits ×3; the controller
#                                   manager's and scheduler's client at
#                                   1,000 QPS with 50 workers per workload
#                                   controller; kwok's pod CIDR a /16 (a /24
#                                   has 254 pod IPs). Unset: the defaults.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-$root/bin}
dir=${CLUSTER_DIR:-$root/.cluster}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
kubeconfig=$dir/kubeconfig
name=${HARDEN_CLUSTER_NAME:-harden-local}
limited_context=harden-limited admin_user=admin limited_user=limited
if [[ -n ${HARDEN_CLUSTER_NAME:-} ]]; then
	limited_context=$name-limited admin_user=$name-admin limited_user=$name-limited
fi
nodes=${HARDEN_CLUSTER_NODES:-6}
offset=${HARDEN_CLUSTER_PORT_OFFSET:-0}
# The defaults, then what a large cluster adds or overrides (later flags win).
etcd_flags=(--quota-backend-bytes 4294967296)
apiserver_flags=(--max-requests-inflight 1000 --max-mutating-requests-inflight 500)
cm_flags=(--concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 --kube-api-qps 200 --kube-api-burst 400)
scheduler_flags=(--kube-api-qps 200 --kube-api-burst 400)
pod_cidr=10.0.0.1/24
if [[ ${HARDEN_CLUSTER_LARGE:-} == 1 ]]; then
	etcd_flags=(--quota-backend-bytes 8589934592)
	apiserver_flags=(--max-requests-inflight 3000 --max-mutating-requests-inflight 1500)
	cm_flags=(--concurrent-deployment-syncs 50 --concurrent-replicaset-syncs 50 --concurrent-statefulset-syncs 50
		--concurrent-daemonset-syncs 20 --concurrent-service-endpoint-syncs 20 --concurrent-gc-syncs 50
		--kube-api-qps 1000 --kube-api-burst 2000)
	scheduler_flags=(--kube-api-qps 1000 --kube-api-burst 2000)
	pod_cidr=10.0.0.1/16
fi

log() { echo "cluster: $*" >&2; }

# A cluster already running here is reused as is.
if [[ -f $dir/apiserver.url ]] && curl -skf --max-time 2 "$(cat "$dir/apiserver.url")/readyz" >/dev/null 2>&1; then
	log "already running ($(cat "$dir/apiserver.url"))"
	echo "export KUBECONFIG=$kubeconfig"
	exit 0
fi

"$root/hack/cluster-build.sh"
"$root/hack/cluster-down.sh" >/dev/null 2>&1 || true
# Every start is a new, empty cluster, like `kind create cluster` after
# `kind delete cluster`: the certificates and tokens are new, and the tests
# want no namespace an interrupted run left behind. Say so, since a user who
# stopped the cluster may expect to find the demo again.
if [[ -d $dir/etcd-data ]]; then
	log "starting a new, empty cluster: the objects of the last one ($dir/etcd-data) are deleted; make demo deploys the demo shop again"
fi
rm -rf "$dir/etcd-data" "$dir/certs" "$dir"/*.log "$dir"/*.pid
mkdir -p "$dir/certs"

# free_port prints a TCP port nobody listens on, starting from $1.
free_port() {
	local p=$1
	while (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
etcd_port=$(free_port "${ETCD_PORT:-$((23790 + offset))}")
peer_port=$(free_port $((etcd_port + 1)))
api_port=$(free_port "${APISERVER_PORT:-$((26443 + offset))}")
url=https://127.0.0.1:$api_port

# start NAME ARGS...: runs a component in the background, recording its PID.
start() {
	local name=$1
	shift
	"$@" >"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
}

openssl genrsa -out "$dir/certs/sa.key" 2048 2>/dev/null
openssl rsa -in "$dir/certs/sa.key" -pubout -out "$dir/certs/sa.pub" 2>/dev/null

admin_token=$(openssl rand -hex 16)
limited_token=$(openssl rand -hex 16)
# token,user,uid,groups: the admin is cluster-admin through system:masters;
# "limited" has no rights beyond what a test grants it with RBAC.
cat >"$dir/tokens.csv" <<EOF
$admin_token,admin,admin,system:masters
$limited_token,limited,limited,
EOF

start etcd "$bin/etcd" --name local --data-dir "$dir/etcd-data" \
	--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
	--initial-cluster "local=http://127.0.0.1:$peer_port" \
	"${etcd_flags[@]}" --log-level warn

start kube-apiserver "$bin/kube-apiserver" \
	--etcd-servers "http://127.0.0.1:$etcd_port" \
	--cert-dir "$dir/certs" --bind-address 127.0.0.1 --secure-port "$api_port" \
	--advertise-address 127.0.0.1 \
	--token-auth-file "$dir/tokens.csv" \
	--service-account-issuer https://kubernetes.default.svc \
	--service-account-key-file "$dir/certs/sa.pub" \
	--service-account-signing-key-file "$dir/certs/sa.key" \
	--service-cluster-ip-range 10.96.0.0/16 \
	--authorization-mode RBAC --allow-privileged=true \
	"${apiserver_flags[@]}"

cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: $url
    insecure-skip-tls-verify: true
users:
- name: $admin_user
  user:
    token: $admin_token
- name: $limited_user
  user:
    token: $limited_token
contexts:
- name: $name
  context: {cluster: $name, user: $admin_user}
- name: $limited_context
  context: {cluster: $name, user: $limited_user}
current-context: $name
EOF
chmod 600 "$kubeconfig"

for i in $(seq 1 120); do
	if curl -skf --max-time 2 -H "Authorization: Bearer $admin_token" "$url/readyz" >/dev/null 2>&1; then break; fi
	if ! kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null; then
		log "kube-apiserver exited; last lines of $dir/kube-apiserver.log:"
		tail -20 "$dir/kube-apiserver.log" >&2
		exit 1
	fi
	[[ $i == 120 ]] && { log "kube-apiserver not ready after 60s"; exit 1; }
	sleep 0.5
done

start kube-controller-manager "$bin/kube-controller-manager" \
	--kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
	--leader-elect=false --secure-port 0 \
	--service-account-private-key-file "$dir/certs/sa.key" \
	--root-ca-file "$dir/certs/apiserver.crt" \
	--controllers '*,-serviceaccount-token' \
	--node-monitor-grace-period 5m \
	"${cm_flags[@]}"

start kube-scheduler "$bin/kube-scheduler" \
	--kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
	--leader-elect=false --secure-port 0 \
	"${scheduler_flags[@]}"

start kwok "$bin/kwok" --kubeconfig "$kubeconfig" \
	--config "$root/hack/kwok/stages.yaml" \
	--manage-all-nodes=false \
	--manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
	--node-lease-duration-seconds 40 \
	--cidr "$pod_cidr" --node-ip 10.0.0.1 --server-address "127.0.0.1:$(free_port $((10247 + offset)))"

echo "$url" >"$dir/apiserver.url"

export KUBECONFIG=$kubeconfig
zones=(zone-a zone-b zone-c)
for i in $(seq 0 $((nodes - 1))); do
	zone=${zones[$((i % 3))]}
	cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
    topology.kubernetes.io/zone: $zone
    topology.kubernetes.io/region: local
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
done | kubectl apply -f - >/dev/null

# kwok renews node Leases; the controller manager's 5m grace period keeps a
# starved 2-core CI machine from marking every fake node (and so every pod)
# NotReady, which kwok never turns back.

# Ready means: every node Ready and the default ServiceAccount exists, so
# pods can be created at once.
for i in $(seq 1 120); do
	ready=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c True || true)
	if [[ $ready == "$nodes" ]] && kubectl get serviceaccount default -n default >/dev/null 2>&1; then break; fi
	[[ $i == 120 ]] && { log "nodes not ready after 60s (ready: $ready)"; tail -20 "$dir/kwok.log" >&2; exit 1; }
	sleep 0.5
done
log "ready at $url: $nodes kwok nodes in zone-a/b/c"
echo "export KUBECONFIG=$kubeconfig"
