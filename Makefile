# kubectl harden — build, test and demo on a real local cluster.
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w \
	-X github.com/kubectl-harden/kubectl-harden/internal/version.Version=$(VERSION) \
	-X github.com/kubectl-harden/kubectl-harden/internal/version.Commit=$(COMMIT) \
	-X github.com/kubectl-harden/kubectl-harden/internal/version.Date=$(DATE)
export KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig
# Pinned tools, git-ignored: goreleaser and krew (make tools), the bench's.
TOOLS := $(CURDIR)/.tools

.PHONY: all build test unit fuzz e2e vet docs cluster cluster-build cluster-down demo clean bench bench-sweep bench-fix bench-tools tools dist dist-check image

all: build

## build: the plugin and its completion shim into bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-harden ./cmd/kubectl-harden
	install -m 0755 kubectl_complete-harden $(BIN)/kubectl_complete-harden

## docs: regenerate docs/rules.md from the rule registry
docs:
	$(GO) run ./cmd/kubectl-harden rules -o markdown > docs/rules.md

## test: the release checks, unit tests, then end-to-end tests on the local cluster
test: dist-check vet unit fuzz e2e

## tools: goreleaser and krew at the versions pinned in hack/tools/go.mod, into .tools/
TOOL_BINS := $(TOOLS)/goreleaser $(TOOLS)/validate-krew-manifest $(TOOLS)/kubectl-krew
tools: $(TOOL_BINS)

# Rebuilt only when the pins change (go install leaves an up-to-date binary's
# time alone, hence the touch).
$(TOOL_BINS) &: hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && GOBIN=$(TOOLS) $(GO) install tool
	ln -sf krew $(TOOLS)/kubectl-krew
	touch $(TOOL_BINS)

## image: the container image (docker-loadable tarballs in dist/image/), built by ko
## offline on a scratch base (IMAGE_BASE=REF for another, e.g. the release's
## cgr.dev/chainguard/static); the release pushes it with goreleaser's kos
IMAGE_TOOLS := $(TOOLS)/ko $(TOOLS)/kobase
image: $(IMAGE_TOOLS)
	VERSION=$(VERSION) COMMIT=$(COMMIT) DATE=$(DATE) hack/image.sh

$(IMAGE_TOOLS) &: hack/tools/go.mod hack/tools/go.sum hack/tools/kobase/main.go
	cd hack/tools && GOBIN=$(TOOLS) $(GO) install github.com/google/ko ./kobase
	touch $(IMAGE_TOOLS)

## dist: snapshot release for every platform into dist/, krew manifest validated and installed
dist: tools
	@hack/dist.sh all

## dist-check: goreleaser check, snapshot for this platform, krew render/validate/install
dist-check: tools
	@hack/dist.sh host

vet:
	$(GO) vet ./...
	@# The release builds for Windows too: no Unix-only call may slip in.
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/kubectl-harden
	@# A merge left half-done: conflict markers in any tracked file.
	@! git grep -nE '^(<<<<<<<|>>>>>>>)( |$$)' -- . || { echo "vet: merge conflict markers above"; exit 1; }

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)

## fuzz: each fuzz target for a fixed number of executions. A count, not a
## duration: with -fuzztime=10s Go's coordinator can fail a target with a bare
## "context deadline exceeded" at the deadline (golang/go#75804, fixed in 1.27).
FUZZ_SCALE ?= 1
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseSelection$$' -fuzztime $$((3000 * $(FUZZ_SCALE)))x -parallel 1 ./internal/cli
	$(GO) test -run '^$$' -fuzz '^FuzzMerge$$' -fuzztime $$((100000 * $(FUZZ_SCALE)))x -parallel 1 ./internal/objmerge
	$(GO) test -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $$((20000 * $(FUZZ_SCALE)))x -parallel 1 ./internal/plan
	$(GO) test -run '^$$' -fuzz '^FuzzBuildPlan$$' -fuzztime $$((5000 * $(FUZZ_SCALE)))x -parallel 1 ./internal/plan

e2e: cluster-build
	$(GO) test -count=1 -timeout 45m ./test/e2e/...

## cluster: build (if missing) and start the local cluster; prints export KUBECONFIG=…
cluster:
	@hack/cluster-up.sh

cluster-build:
	@hack/cluster-build.sh

cluster-down:
	@hack/cluster-down.sh

## demo: start the cluster, deploy the fragile demo shop, run kubectl harden on it
demo: build cluster
	@hack/demo.sh

clean: cluster-down
	rm -rf $(BIN) .cluster .bench-cluster dist

## bench: `kubectl harden audit -A -o json` against the raw floor (its own
## LISTs in protobuf, bytes discarded), `kubectl get` of the same kinds and
## dump + kube-score, on the local cluster at scale (40 namespaces × 50
## workloads; BENCH_NAMESPACES, BENCH_WORKLOADS and BENCH_RUNS scale it
## down); then one workload and the UI's first frame (in tmux). Prints a
## Markdown table; exits 1 when a target is missed. Not part of `make test`.
KUBE_SCORE_VERSION ?= v1.20.0
KUBE_SCORE := $(TOOLS)/kube-score-$(KUBE_SCORE_VERSION)

bench: build bench-tools
	@hack/cluster-up.sh >/dev/null
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(TOOLS)/bench -harden $(BIN)/kubectl-harden

## bench-sweep: the audit and the raw floor at 200, 2,000 and 20,000
## workloads (BENCH_SCALES), with Popeye and Polaris when .tools holds them,
## on a new cluster of its own (BENCH_CLUSTER_DIR, HARDEN_CLUSTER_LARGE=1,
## 3 kwok nodes), stopped afterwards. Takes about an hour on 2 cores.
BENCH_CLUSTER_DIR ?= $(CURDIR)/.bench-cluster
BENCH_SCALES ?= 200,2000,20000
BENCH_CLUSTER := CLUSTER_DIR=$(BENCH_CLUSTER_DIR) HARDEN_CLUSTER_NAME=bench HARDEN_CLUSTER_PORT_OFFSET=300
bench-sweep: build bench-tools
	@$(BENCH_CLUSTER) hack/cluster-down.sh 2>/dev/null
	@$(BENCH_CLUSTER) HARDEN_CLUSTER_NODES=3 HARDEN_CLUSTER_LARGE=1 hack/cluster-up.sh >/dev/null
	KUBECONFIG=$(BENCH_CLUSTER_DIR)/kubeconfig $(TOOLS)/bench -harden $(BIN)/kubectl-harden \
		-scales $(BENCH_SCALES) -concurrency 32 -timeout 60m; rc=$$?; $(BENCH_CLUSTER) hack/cluster-down.sh; exit $$rc

## bench-fix: `kubectl harden audit --fix --yes` of one workload against
## 200 over 4 namespaces (BENCH_FIX_WORKLOADS, BENCH_FIX_NAMESPACES;
## BENCH_FIX_PARALLEL sets --parallel, 32 unless set; each pod
## Ready BENCH_FIX_READY_AFTER after it starts, 5s unless set), on the
## local cluster, in namespaces bench-fix-N deleted afterwards. Prints the
## times and their ratio; exits 1 above 10x or when a workload was not
## fixed. Built, not run with go run, which would turn its exit 2 into 1.
BENCH_FIX_PARALLEL ?= 32
bench-fix: build
	@hack/cluster-up.sh >/dev/null
	$(GO) build -o $(TOOLS)/bench-fix ./hack/bench-fix
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(TOOLS)/bench-fix -harden $(BIN)/kubectl-harden -parallel $(BENCH_FIX_PARALLEL)

## bench-tools: kube-score (pinned) as .tools/kube-score, the bench and the
## launcher that measures each command (built, not run with go run, which
## would turn the bench's exit code 2 into 1)
bench-tools: $(KUBE_SCORE)
	ln -sf $(notdir $(KUBE_SCORE)) $(TOOLS)/kube-score
	$(GO) build -o $(TOOLS)/bench ./hack/bench
	$(GO) build -o $(TOOLS)/bench-rusage ./hack/bench/rusage

$(KUBE_SCORE):
	GOBIN=$(TOOLS)/.install $(GO) install github.com/zegl/kube-score/cmd/kube-score@$(KUBE_SCORE_VERSION)
	mv $(TOOLS)/.install/kube-score $@
