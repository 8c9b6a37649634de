#!/usr/bin/env bash
# Deploys the fragile demo shop on the local cluster and runs kubectl harden
# on it through kubectl's plugin discovery (bin/ first on PATH).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBECONFIG=$root/.cluster/kubeconfig
export PATH=$root/bin:$PATH
kubectl apply -f "$root/testdata/demo/shop.yaml"
for ref in deploy/web deploy/api deploy/worker sts/db; do
	kubectl rollout status -n demo "$ref" --timeout=90s
done
echo
echo "\$ kubectl harden deploy/web -n demo"
kubectl harden deploy/web -n demo
