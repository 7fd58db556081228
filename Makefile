# Every target brings what it needs: Node >= 22 (fetched into .tools/ when the machine's is older),
# node_modules from the lock file, and the control-plane binaries (built once, cached outside git).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

NODE_BIN := $(shell bash scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)

.PHONY: help deps controlplane helm promtool lua argocd container-tools image test-image node test-node crds build typecheck lint format test test-unit test-integration chaos dev clean \
	bench bench-burst bench-floor bench-latency bench-steady bench-restart bench-memory bench-versus bench-peer eso

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-18s %s\n", $$1, $$2 }'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed ## Install node_modules from the lock file.

controlplane: ## Build (once) or find etcd, kube-apiserver and kubectl; honours KUBEBUILDER_ASSETS.
	@bash hack/controlplane/build.sh >/dev/null

helm: ## Build (once) or find helm (pinned in hack/helm/go.mod) for the chart tests; honours HELM_BIN.
	@bash hack/helm/build.sh >/dev/null

lua: ## Make sure lua5.1 (the Argo CD health check's tests) is installed; apt-get installs it as root.
	@if ! command -v lua5.1 >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing lua5.1 with apt-get" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.1 >/dev/null; \
	  else \
	    echo "lua5.1 is missing: install it (Debian/Ubuntu: sudo apt-get install lua5.1; macOS: brew install lua@5.1) and run make again" >&2; \
	    exit 1; \
	  fi; \
	fi

# The real Argo CD tests (test/argocd/real-sync.test.ts): Argo CD built once from its Go module
# (pinned in hack/argocd/go.mod, cached outside git) and redis-server, its cache (apt-get, as root).
# Without go or redis-server the tests say SKIPPED and why.
argocd: ## Build (once) or find Argo CD (hack/argocd) and make sure redis-server is installed; honours ARGOCD_BIN.
	@if ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing redis-server with apt-get" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is missing (Debian/Ubuntu: sudo apt-get install redis-server); the real Argo CD tests say SKIPPED without it" >&2; \
	  fi; \
	fi
	@if [ -n "$${ARGOCD_BIN:-}" ] || command -v go >/dev/null; then bash hack/argocd/build.sh >/dev/null; \
	else echo "go is missing: the real Argo CD tests say SKIPPED (or set ARGOCD_BIN)" >&2; fi

# podman and buildah build and run the image; debootstrap makes its local Node base; containerd,
# runc, the CNI plugins and iptables make the tests' node (test/node). Debian package names.
CONTAINER_PACKAGES := podman buildah debootstrap containerd runc containernetworking-plugins iptables iproute2 conntrack
container-tools: ## Make sure podman, buildah, debootstrap, containerd, runc and the CNI plugins are installed (apt-get, as root).
	@missing=""; for t in podman buildah debootstrap containerd runc iptables ip conntrack; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	[ -x /usr/lib/cni/bridge ] || missing="$$missing cni-plugins"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing with apt-get" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CONTAINER_PACKAGES) >/dev/null; \
	  else \
	    echo "missing:$$missing (Debian/Ubuntu: sudo apt-get install $(CONTAINER_PACKAGES)); the image and node tests say SKIPPED without them" >&2; \
	  fi; \
	fi

node: ## Build (once) kubelet, kube-proxy, kube-controller-manager and kube-scheduler for the tests' node.
	@bash hack/node/build.sh >/dev/null
	@bash hack/node/pause-image.sh >/dev/null

# The image: the Dockerfile built with podman on a local stand-in for the public Node base image
# (made once from Debian packages and the npm registry's Node package, cached outside git).
# IMAGE names the result. Docker users build the same Dockerfile with `docker build .`.
IMAGE ?= localhost/datatrails-operator:dev
export IMAGE
image: container-tools ## Build the operator's image with podman (base made locally, once); IMAGE=<name>.
	@bash hack/image/build.sh >/dev/null

# For the tests: the image and the node's parts where podman and go exist; without them the image
# and node tests say SKIPPED and why.
test-image: container-tools
	@if command -v podman >/dev/null; then bash hack/image/build.sh >/dev/null; fi

test-node: container-tools controlplane
	@if command -v go >/dev/null && command -v buildah >/dev/null; then \
	  bash hack/node/build.sh >/dev/null && bash hack/node/pause-image.sh >/dev/null; fi

crds: deps ## Regenerate crds/ from the zod schemas in src/api/v1alpha1.
	node scripts/generate-crds.ts
	node scripts/generate-reference.ts

build: deps ## Compile src/ to dist/.
	npm run --silent build

typecheck: deps ## Type-check everything, tests included.
	npm run --silent typecheck

lint: deps ## ESLint, Prettier and knip (unused files, dependencies and exports), no changes made.
	npm run --silent lint

format: deps ## Rewrite files with Prettier and ESLint fixes.
	npm run --silent format

test: deps controlplane helm promtool lua argocd test-image test-node typecheck lint ## All tests: unit and integration (real kube-apiserver + etcd, emulator).
	npx vitest run

test-unit: deps ## Unit tests only.
	npx vitest run --project unit

test-integration: deps controlplane helm promtool lua argocd test-image test-node ## Integration tests only.
	npx vitest run --project integration

# Short by default (it also runs in `make test`); CHAOS_SCALE=long for the figures in docs/reliability.md.
# CHAOS_SEED=<n> replays a run's random choices. Each scenario's figures line also goes to .chaos/.
CHAOS_SCALE ?= short
chaos: deps controlplane ## Reliability suite (faults, crashes, bad input); CHAOS_SCALE=long, CHAOS_SEED=<n>.
	@mkdir -p .chaos && : > .chaos/figures-$(CHAOS_SCALE).txt
	CHAOS_SCALE=$(CHAOS_SCALE) CHAOS_FIGURES_FILE=$(CURDIR)/.chaos/figures-$(CHAOS_SCALE).txt \
		npx vitest run --project integration test/chaos test/crash/leader-election.test.ts
	@echo "figures: .chaos/figures-$(CHAOS_SCALE).txt"

dev: deps controlplane ## Run locally on embedded defaults: a local control plane and the emulator.
	node src/main.ts dev

# Benchmarks (docs/benchmarks.md). Each starts its own control plane, emulator and operator process.
# `make bench` runs all at a small scale; `make bench SCALE=full` at the scale of docs/benchmarks.md.
# Single values can be overridden, e.g. `make bench-steady STEADY_COUNT=5000`.
SCALE ?= small
ifeq ($(SCALE),full)
BURST_COUNT ?= 1000
LATENCY_SECONDS ?= 300
STEADY_COUNT ?= 2000
STEADY_LIFETIMES ?= 10
RESTART_STEPS ?= 1000,2000,4000
VERSUS_COUNT ?= 1000
PEER_COUNT ?= 1000
PEER_LIFETIMES ?= 10
else
BURST_COUNT ?= 200
LATENCY_SECONDS ?= 60
STEADY_COUNT ?= 200
STEADY_LIFETIMES ?= 3
RESTART_STEPS ?= 200,400
VERSUS_COUNT ?= 100
PEER_COUNT ?= 50
PEER_LIFETIMES ?= 3
endif
STEADY_TTL ?= 60
PEER_TTL ?= 60
CONCURRENCY ?= 8

bench: bench-burst bench-latency bench-steady bench-restart bench-versus ## All benchmarks (SCALE=small|full).

bench-burst: deps controlplane ## Burst of integrations until Ready, versus the floor of minimal calls.
	node bench/burst.ts --count=$(BURST_COUNT) --concurrency=$(CONCURRENCY)

bench-floor: deps controlplane ## The floor alone: the minimal calls per integration.
	node bench/floor.ts --count=$(BURST_COUNT) --concurrency=$(CONCURRENCY)

bench-latency: deps controlplane ## One integration a second: apply to valid token, p50/p99.
	node bench/latency.ts --seconds=$(LATENCY_SECONDS)

bench-steady: deps controlplane ## Short-TTL tokens: requests and writes per refresh, rate, RSS, CPU.
	node bench/steady.ts --count=$(STEADY_COUNT) --ttl=$(STEADY_TTL) --lifetimes=$(STEADY_LIFETIMES) --concurrency=$(CONCURRENCY)

bench-restart: deps controlplane ## Memory growth per step, then a restart: time, DataTrails calls, writes.
	node bench/restart.ts --steps=$(RESTART_STEPS) --concurrency=$(CONCURRENCY)

bench-memory: bench-restart ## Memory growth per 1,000 integrations (part of bench-restart).

bench-versus: deps controlplane ## curl + jq + kubectl per refresh versus the operator's CPU per refresh.
	node bench/versus.ts --count=$(VERSUS_COUNT)

# Not part of `make bench`: the first run builds External Secrets Operator (10-30 minutes).
bench-peer: deps controlplane eso ## The same short-TTL workload through the operator and External Secrets Operator.
	node bench/peer.ts --count=$(PEER_COUNT) --ttl=$(PEER_TTL) --lifetimes=$(PEER_LIFETIMES)

clean: ## Remove build output and the project-local Node (the control-plane cache stays).
	rm -rf dist .tools node_modules .dev

.PHONY: promtool
promtool: ## Build (once) or find promtool (pinned in hack/promtool/go.mod) for the alert tests; honours PROMTOOL_BIN.
	@bash hack/promtool/build.sh >/dev/null

eso: ## Build (once) or find External Secrets Operator (pinned in hack/eso/go.mod) for bench-peer; honours ESO_BIN.
	@bash hack/eso/build.sh >/dev/null
