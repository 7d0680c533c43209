# caddy-stepup — build, test and demo entry points. `make` lists them.
export GOTOOLCHAIN := go1.27.3

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CADDY := $(CURDIR)/bin/caddy
# Screenshots and other test artifacts (see integration/internal/browser).
export STEPUP_ARTIFACTS ?= $(CURDIR)/artifacts

# Sets STEPUP_HYDRA to the cached Hydra binary, building it when missing
# (scripts/build-hydra prints its path last). Used inside recipes.
define hydra_env
if [[ -x scripts/build-hydra ]]; then \
	hydra="$$(scripts/build-hydra | tail -1)"; \
	export STEPUP_HYDRA="$$hydra"; \
else \
	echo "warning: scripts/build-hydra missing; STEPUP_HYDRA unset" >&2; \
fi
endef

.PHONY: help build tools gates test unit fresh-clone demo-unit integration k8s demo bench clean

help: ## list the targets
	@echo "caddy-stepup make targets:"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/caddy with the plugin (scripts/build-caddy, xcaddy.json)
	scripts/build-caddy $(CADDY)

tools: ## install system packages and build the cached Hydra
	scripts/install-deps
	@if [[ -x scripts/build-hydra ]]; then scripts/build-hydra; \
	else echo "scripts/build-hydra not there yet; skipping"; fi

gates: build ## gofmt, vet, staticcheck, govulncheck (modules + bin/caddy), short fuzzing
	STEPUP_CADDY=$(CADDY) scripts/ci-gates

# Inside `make test` the tests that start redis-server fail rather than skip
# when it is missing: `tools` has just installed it, so a skip would hide a
# broken install and report a check that never ran.
test: export STEPUP_REQUIRE_REDIS := 1
test: tools build ## every tier: quality gates, unit (-race), demo, integration, Kubernetes
	@echo "== quality gates (scripts/ci-gates)"
	STEPUP_CADDY=$(CADDY) scripts/ci-gates
	@echo "== build script: skips Caddy builds when nothing changed (scripts/test-build-caddy)"
	scripts/test-build-caddy
	@echo "== unit tests and Caddyfile fixtures (root module, -race)"
	go test -race -count=1 ./...
	@echo "== assertion verifier module (verify, -race)"
	cd verify && go test -race -count=1 ./...
	@echo "== the unit tiers in a fresh clone with nothing beside it (scripts/fresh-clone-check)"
	scripts/fresh-clone-check
	@echo "== demo unit tests (examples/demo, -race)"
	cd examples/demo && go test -race -count=1 ./...
	@echo "== benchmark harness unit tests (tools/bench: statistics, verdicts)"
	cd tools/bench && go test -count=1 ./...
	@echo "== integration tests (real Caddy, Hydra, chromium)"
	@$(hydra_env); \
	echo "STEPUP_CADDY=$(CADDY) STEPUP_HYDRA=$${STEPUP_HYDRA:-}"; \
	cd integration && STEPUP_CADDY=$(CADDY) go test -count=1 -timeout 20m ./...
	@echo "== Kubernetes tier (real etcd + kube-apiserver + Caddy)"
	STEPUP_CADDY=$(CADDY) k8s/scripts/test

unit: ## only vet and unit tests of the root module
	go vet ./...
	go test -race -count=1 ./...

fresh-clone: ## the unit tiers in a fresh clone of HEAD with nothing beside it (scripts/fresh-clone-check)
	scripts/fresh-clone-check

demo-unit: ## only the demo's unit tests
	cd examples/demo && go test -race -count=1 ./...

k8s: build ## only the Kubernetes tier (k8s/scripts/test)
	STEPUP_CADDY=$(CADDY) k8s/scripts/test

integration: build ## only the integration tests (assumes `make tools` ran)
	@$(hydra_env); \
	cd integration && STEPUP_CADDY=$(CADDY) go test -count=1 -timeout 20m ./...

# The demo is built to bin/stepup-demo (go build skips the link when nothing
# changed) and run with job control on (set -m): it then gets the terminal as
# its own process group, so Ctrl-C reaches only the demo, which stops
# everything and exits 0, and make, never interrupted, exits 0 too.
demo: build ## run the demo: an OpenID Provider, a sample app and Caddy with stepup, on loopback
	@echo "make demo: building the demo (bin/stepup-demo; seconds once Go has its packages)"
	cd examples/demo && go build -o $(CURDIR)/bin/stepup-demo .
	set -m; cd examples/demo && $(CURDIR)/bin/stepup-demo --caddy $(CADDY) $(DEMO_FLAGS)

bench: build ## Go benchmarks and the loopback load comparison (scripts/bench; not a test)
	scripts/bench

clean: ## remove bin/ and artifacts/ (the tool cache stays)
	rm -rf bin artifacts
