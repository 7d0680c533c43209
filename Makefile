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

.PHONY: help build tools test unit integration demo bench clean

help: ## list the targets
	@echo "caddy-stepup make targets:"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/caddy with the plugin (scripts/build-caddy, xcaddy.json)
	scripts/build-caddy $(CADDY)

tools: ## install system packages and build the cached Hydra
	scripts/install-deps
	@if [[ -x scripts/build-hydra ]]; then scripts/build-hydra; \
	else echo "scripts/build-hydra not there yet; skipping"; fi

test: tools build ## vet, unit tests (-race), then integration tests
	@echo "== go vet (root module)"
	go vet ./...
	@echo "== unit tests (root module, -race)"
	go test -race -count=1 ./...
	@echo "== integration tests"
	@$(hydra_env); \
	echo "STEPUP_CADDY=$(CADDY) STEPUP_HYDRA=$${STEPUP_HYDRA:-}"; \
	cd integration && STEPUP_CADDY=$(CADDY) go test -count=1 -timeout 20m ./...

unit: ## only vet and unit tests of the root module
	go vet ./...
	go test -race -count=1 ./...

integration: build ## only the integration tests (assumes `make tools` ran)
	@$(hydra_env); \
	cd integration && STEPUP_CADDY=$(CADDY) go test -count=1 -timeout 20m ./...

demo: build tools ## run the demo (examples/demo)
	@if [[ ! -d examples/demo ]]; then \
		echo "demo: examples/demo does not exist yet" >&2; exit 1; fi
	@$(hydra_env); \
	export STEPUP_CADDY=$(CADDY); \
	if [[ -f examples/demo/go.mod ]]; then cd examples/demo && go run .; \
	else go run ./examples/demo; fi

bench: ## run the benchmarks (scripts/bench)
	@if [[ -x scripts/bench ]]; then scripts/bench; \
	else echo "bench: scripts/bench does not exist yet" >&2; exit 1; fi

clean: ## remove bin/ and artifacts/ (the tool cache stays)
	rm -rf bin artifacts
