#!/usr/bin/env bash
# Builds the release as a snapshot and proves krew can install it.
#   hack/dist.sh all    (make dist)       every platform, into dist/
#   hack/dist.sh host   (make dist-check) this machine's platform only, into
#                       dist/host/ (quick enough for make test)
# Then: goreleaser check (deprecations fail it), checksums, krew.yaml rendered
# the way krew-release-bot does with this snapshot's archives and compared with
# goreleaser's own krews manifest, validate-krew-manifest, and a real
# `kubectl krew install --manifest --archive` into a throw-away KREW_ROOT whose
# `kubectl harden version` must be this snapshot's.
# The pinned tools (goreleaser, krew, validate-krew-manifest) are in .tools/,
# built by make from hack/tools/go.mod.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-all}
tools=$root/.tools
export PATH=$tools:$PATH
for t in goreleaser validate-krew-manifest kubectl-krew; do
	command -v "$t" >/dev/null || { echo "dist: $t is missing: run make tools" >&2; exit 1; }
done
step() { printf '\ndist: %s\n' "$*" >&2; }
tmp=()
trap 'rm -rf "${tmp[@]}"' EXIT

# goreleaser reads the remote's URL even for a snapshot, and without one it
# forgets the commit too: give a clone that has none (a worktree) the project's.
if ! git remote get-url origin >/dev/null 2>&1; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url
	export GIT_CONFIG_VALUE_0=https://github.com/kubectl-harden/kubectl-harden.git
fi

# Only release tags (vX.Y.Z…) name a version: any other tag in the clone
# would make goreleaser fail to parse the snapshot's version.
if [[ -z ${GORELEASER_CURRENT_TAG:-} ]]; then
	GORELEASER_CURRENT_TAG=$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' 2>/dev/null || echo v0.0.0)
	export GORELEASER_CURRENT_TAG
fi

step "goreleaser check"
goreleaser check

goos=$(go env GOOS) goarch=$(go env GOARCH)
case $mode in
all)
	config=.goreleaser.yaml dist=dist render_flags=()
	;;
host)
	# The same configuration narrowed to this platform, in its own dist
	# directory so that it never wipes a full `make dist`.
	dist=dist/host render_flags=(-only-present)
	tmp+=("$(mktemp -d)")
	config=${tmp[-1]}/goreleaser.yaml
	sed -e "s/^    goos: .*/    goos: [$goos]/" -e "s/^    goarch: .*/    goarch: [$goarch]/" .goreleaser.yaml >"$config"
	echo "dist: $dist" >>"$config"
	grep -q "^    goos: \[$goos\]" "$config" && grep -q "^    goarch: \[$goarch\]" "$config" ||
		{ echo "dist: .goreleaser.yaml has no one-line goos/goarch lists to narrow" >&2; exit 1; }
	;;
*)
	echo "usage: $0 all|host" >&2
	exit 2
	;;
esac

step "goreleaser release --snapshot ($mode) into $dist/"
goreleaser release --snapshot --clean --config "$config"

version=$(grep -o '"version":"[^"]*"' "$dist/metadata.json" | cut -d'"' -f4)
commit=$(git rev-parse --short HEAD)
[[ -n $version ]] || { echo "dist: no version in $dist/metadata.json" >&2; exit 1; }
ext=tar.gz
[[ $goos == windows ]] && ext=zip
archive=$dist/kubectl-harden_v${version}_${goos}_${goarch}.$ext
[[ -f $archive ]] || { echo "dist: $archive was not built" >&2; exit 1; }

step "checksums"
(cd "$dist" && sha256sum --check --strict checksums.txt)

step "krew.yaml rendered for tag v$version with the snapshot's archives"
manifest=$(go run ./hack/krew-render -template krew.yaml -tag "v$version" -archives "$dist" \
	-out "$dist/krew-index/plugins" -compare "$dist/krew/harden.yaml" "${render_flags[@]}")
cat "$manifest"
validate-krew-manifest -manifest "$manifest" -skip-install

step "kubectl krew install --manifest=$manifest --archive=$archive"
if ! command -v kubectl >/dev/null; then
	hack/cluster-build.sh kubectl
	export PATH=$root/bin:$PATH
fi
krew_root=$(mktemp -d)
tmp+=("$krew_root")
# No index, no network: krew must not look for its own updates.
KREW_ROOT=$krew_root KREW_NO_UPGRADE_CHECK=1 kubectl krew install --manifest="$manifest" --archive="$archive"
installed=$(PATH=$krew_root/bin:$PATH command -v kubectl-harden)
[[ $installed == "$krew_root/bin/kubectl-harden" ]] ||
	{ echo "dist: kubectl-harden resolves to $installed, not krew's" >&2; exit 1; }
[[ -x $krew_root/store/harden/v$version/kubectl_complete-harden ]] ||
	{ echo "dist: the completion shim is not in the installed plugin" >&2; exit 1; }
got=$(PATH=$krew_root/bin:$PATH kubectl harden version -o json)
echo "$got"
grep -q "\"version\": *\"v$version\"" <<<"$got" && grep -q "\"commit\": *\"$commit\"" <<<"$got" ||
	{ echo "dist: the krew-installed plugin is not v$version ($commit)" >&2; exit 1; }
step "ok: v$version installs with krew and runs as kubectl harden"
