#!/usr/bin/env bash
# Deploys the fragile demo shop on the local cluster and hardens its web
# Deployment through kubectl's plugin discovery (bin/ first on PATH):
# report, preview the diff, apply, and show that a second run is clean.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBECONFIG=$root/.cluster/kubeconfig
export PATH=$root/bin:$PATH

# run shows and runs a command; exit 1 means "findings remain", not failure.
run() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@" || { rc=$?; [[ $rc == 1 ]] || exit "$rc"; }
}

# A fresh, fragile shop every time: a second kubectl apply over a hardened
# one would be refused (privileged beside allowPrivilegeEscalation: false).
kubectl delete namespace demo --ignore-not-found --wait=true --timeout=120s
kubectl apply -f "$root/testdata/demo/shop.yaml"
for ref in deploy/web deploy/api deploy/worker sts/db; do
	kubectl rollout status -n demo "$ref" --timeout=90s
done
# -o text: the report, even on a terminal (where kubectl harden opens its UI).
run kubectl harden deploy/web -n demo -o text
run kubectl harden deploy/web -n demo --fix=all -o diff
# The shop was deployed with kubectl apply, which owns the fields its
# manifest sets (spec.replicas…): by default harden applies every fix that
# conflicts with nobody and leaves those to their owner (status conflict).
run kubectl harden deploy/web -n demo --fix=all --yes
# Taking them live anyway is a deliberate choice, hence --force-conflicts.
run kubectl harden deploy/web -n demo --fix=all --yes --force-conflicts
# --fix=all left privileged skipped with the reason: what a container uses
# privilege for (a device, iptables, a mount) fails at runtime, after the
# rollout watch. nginx needs none, so it is named here. read-only-root-fs
# is not: nginx writes its cache under /var/cache/nginx, outside /tmp.
run kubectl harden deploy/web -n demo --fix=privileged,privilege-escalation --yes --force-conflicts
run kubectl get pods -n demo -l app=web -o wide
run kubectl harden deploy/web -n demo -o text

printf '\nThe shop stays in namespace demo: every command of the README'"'"'s Usage section works on it\n(deploy/web is hardened now; api, worker, db and report are as deployed).\n'

# On a terminal, end in the interactive UI on another workload of the shop.
if [[ -t 0 && -t 1 ]]; then
	printf '\n\033[1mNext, the interactive UI on deploy/api: space picks fixes, y applies, ? helps, q quits.\033[0m\n'
	read -r -p "Press enter to open it (ctrl+c to stop here) " _
	printf '\n\033[1m$ kubectl harden deploy/api -n demo\033[0m\n'
	kubectl harden deploy/api -n demo || { rc=$?; [[ $rc == 1 || $rc == 130 ]] || exit "$rc"; }
fi
