# Every target brings what it needs: Node >= 22 (fetched into .tools/ when the machine's is older),
# node_modules from the lock file, and the control-plane binaries (built once, cached outside git).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

NODE_BIN := $(shell bash scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)

.PHONY: help deps controlplane helm lua crds build typecheck lint format test test-unit test-integration chaos dev clean

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

crds: deps ## Regenerate crds/ from the zod schemas in src/api/v1alpha1.
	node scripts/generate-crds.ts

build: deps ## Compile src/ to dist/.
	npm run --silent build

typecheck: deps ## Type-check everything, tests included.
	npm run --silent typecheck

lint: deps ## ESLint and Prettier, no changes made.
	npm run --silent lint

format: deps ## Rewrite files with Prettier and ESLint fixes.
	npm run --silent format

test: deps controlplane helm lua typecheck lint ## All tests: unit and integration (real kube-apiserver + etcd, emulator).
	npx vitest run

test-unit: deps ## Unit tests only.
	npx vitest run --project unit

test-integration: deps controlplane helm lua ## Integration tests only.
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

clean: ## Remove build output and the project-local Node (the control-plane cache stays).
	rm -rf dist .tools node_modules .dev
