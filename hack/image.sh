#!/usr/bin/env bash
# Builds the container image of kubectl-harden with ko, without Docker and
# without network (make image):
#   dist/image/kubectl-harden-linux-ARCH.tar   a `docker load`-able tarball
#                                              (also `kind load image-archive`,
#                                              `crane push`), one per platform
# The base is a scratch image that hack/tools/kobase serves on a loopback
# registry: ko only takes a base from a registry, and the release's
# (cgr.dev/chainguard/static) needs the network. IMAGE_BASE=REF builds on
# that base instead (network needed), as the release does.
# Then each image is checked: entrypoint /ko-app/kubectl-harden, and the
# binary taken out of its layers runs and reports this build's version.
# Environment: VERSION, COMMIT, DATE (the Makefile's), IMAGE_PLATFORMS
# (default linux/ and this machine's GOARCH; linux/amd64,linux/arm64 for both), IMAGE_REPO (default
# ghcr.io/kubectl-harden/kubectl-harden), IMAGE_BASE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools=$root/.tools
: "${VERSION:?}" "${COMMIT:?}" "${DATE:?}"
platforms=${IMAGE_PLATFORMS:-linux/$(go env GOARCH)}
repo=${IMAGE_REPO:-ghcr.io/kubectl-harden/kubectl-harden}
out=dist/image
export VERSION COMMIT DATE KO_CONFIG_PATH=$root/hack/ko.yaml KO_DOCKER_REPO=$repo

for t in ko kobase; do
	[[ -x $tools/$t ]] || { echo "image: $tools/$t is missing: run make tools" >&2; exit 1; }
done
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for platform in ${platforms//,/ }; do
	arch=${platform#*/}
	arch=${arch//\//-}
	tarball=$out/kubectl-harden-linux-$arch.tar
	printf '\nimage: %s → %s\n' "$platform" "$tarball" >&2
	build=("$tools/ko" build ./cmd/kubectl-harden --bare --push=false --sbom=none
		--platform="$platform" --tags="$VERSION" --tarball="$tarball")
	if [[ -n ${IMAGE_BASE:-} ]]; then
		KO_DEFAULTBASEIMAGE=$IMAGE_BASE "${build[@]}"
	else
		"$tools/kobase" -platforms "$platform" -- "${build[@]}"
	fi

	# The image as a container runtime would start it: its config's
	# entrypoint, and that file out of the layers, run here when the
	# platform is this machine's.
	rm -rf "$tmp"/*
	tar -xf "$tarball" -C "$tmp" manifest.json
	config=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Config"])' "$tmp/manifest.json")
	layers=$(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' "$tmp/manifest.json")
	tar -xf "$tarball" -C "$tmp" "$config" $layers
	entrypoint=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(" ".join(c["config"]["Entrypoint"]), c["os"]+"/"+c["architecture"])' "$tmp/$config")
	[[ $entrypoint == "/ko-app/kubectl-harden $platform" ]] ||
		{ echo "image: entrypoint and platform are \"$entrypoint\", want /ko-app/kubectl-harden $platform" >&2; exit 1; }
	mkdir "$tmp/rootfs"
	for l in $layers; do tar -xzf "$tmp/$l" -C "$tmp/rootfs" 2>/dev/null || tar -xf "$tmp/$l" -C "$tmp/rootfs"; done
	[[ -x $tmp/rootfs/ko-app/kubectl-harden ]] || { echo "image: no /ko-app/kubectl-harden in the layers" >&2; exit 1; }
	if [[ $platform == "$(go env GOOS)/$(go env GOARCH)" ]]; then
		got=$("$tmp/rootfs/ko-app/kubectl-harden" version -o json)
		grep -q "\"version\": *\"$VERSION\"" <<<"$got" ||
			{ echo "image: the image's kubectl-harden is not $VERSION:" >&2; echo "$got" >&2; exit 1; }
		echo "image: $platform runs: $(tr -d '\n' <<<"$got")" >&2
	fi
done
ls -l "$out"
