# Shopfleet's two commands: `make up` (the platform, locally) and `make test`
# (every test). Both build what they need; the first run on a machine also
# builds the Kubernetes binaries with Go (about 10 minutes on 2 cores, cached in
# ~/.cache/shopfleet).

CARGO ?= cargo
# The platform tool as the workspace build made it. Not `cargo run -p
# shopfleet-e2e`: building one package alone resolves other features for its
# dependencies (ring, rustls, sqlx), and the next workspace build would
# rebuild them all.
LOCAL := $(or $(CARGO_TARGET_DIR),target)/debug/shopfleet-local

.DEFAULT_GOAL := help
.PHONY: help up down test lint deny web crds openapi prerequisites coverage bench-operator bench-api bench-analytics bench-web

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

up: prerequisites web ## bring the platform up locally (Ctrl-C or `make down` stops it)
	@echo "==> Building Shopfleet"
	$(CARGO) build --locked --workspace
	$(LOCAL) up

down: ## stop what `make up` started
	@test -x $(LOCAL) || { echo "nothing to stop: shopfleet-local was never built (run \`make up\`)"; exit 0; }
	@$(LOCAL) down

test: prerequisites web deny lint ## run every test: unit, integration and end-to-end
	@echo "==> Building Shopfleet and its tests"
	$(CARGO) build --locked --workspace --all-targets
	@echo "==> Running the tests inside a fresh local platform"
	$(LOCAL) exec -- $(CARGO) test --locked --workspace --no-fail-fast

# Offline: the RustSec snapshot from $$SHOPFLEET_ADVISORY_DB, ../shared/advisory-db
# or its per-machine copy in ~/.cache/shopfleet (docs/quality.md, "Dependencies").
deny: ## dependency gate: Rust advisories, licenses, duplicates and sources (cargo-deny); npm licenses
	@bash scripts/deny.sh

# A measurement, not part of `make test`: instrumented builds in a target dir of
# their own (docs/quality.md, "Coverage"). COVERAGE=unit or integration for one.
coverage: prerequisites web ## line coverage of the unit tests and of the whole suite (cargo-llvm-cov; reports in <target>-coverage/coverage)
	@bash scripts/coverage.sh $(COVERAGE)

lint: web ## formatting, clippy and the web app's type check, warnings as errors
	cd web && npm run --silent check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

TENANTS ?= 100
ROUNDS ?= 1
bench-operator: prerequisites ## benchmark: TENANTS (default 100) Tenants × 2 Stores, operator vs a plain script, ROUNDS times
	$(CARGO) build --locked --release -p shopfleet-operator
	$(CARGO) run --locked --release -p shopfleet-bench --bin operator-scale -- --tenants $(TENANTS) --rounds $(ROUNDS)

bench-api: web ## benchmark: the API's catalog reads and order creation under wrk, against pgbench running the same SQL (the ceiling; flags in API_LOAD="--only order ...")
	$(CARGO) build --locked --release -p shopfleet-api
	$(CARGO) run --locked --release -p shopfleet-bench --bin api-load -- $(API_LOAD)
bench-analytics: web ## benchmark: the analytics reports over 10 M order lines, against plain GROUP BYs (flags in ANALYTICS="--lines 200000 ...")
	$(CARGO) build --locked --release -p shopfleet-api -p shopfleet-bench
	$(CARGO) run --locked --release -p shopfleet-bench --bin analytics-load -- $(ANALYTICS)

# npm ci only when the lockfile changed since the last install (npm writes
# node_modules/.package-lock.json on every install).
web: ## build the staff web app into web/dist (the API binary embeds it)
	@command -v npm >/dev/null || { echo "error: npm is missing: Node.js 20+ with npm builds the web app (Debian: apt-get install nodejs npm)"; exit 1; }
	@if [ ! web/node_modules/.package-lock.json -nt web/package-lock.json ]; then \
		echo "==> Installing the web app's packages (npm ci)"; \
		cd web && npm ci --no-audit --no-fund; fi
	@echo "==> Building the web app"
	cd web && npm run --silent build

bench-web: web ## benchmark: the web app's first load and Lighthouse (mobile) in Debian's Chromium
	@if [ ! bench/web/node_modules/.package-lock.json -nt bench/web/package-lock.json ]; then \
		echo "==> Installing Lighthouse and playwright-core (npm ci)"; \
		cd bench/web && npm ci --no-audit --no-fund; fi
	$(CARGO) build --locked --release -p shopfleet-api -p shopfleet-bench
	$(CARGO) run --locked --release -p shopfleet-bench --bin web-load -- $(WEB_LOAD)

openapi: web ## regenerate api/openapi.json from the API's code
	$(CARGO) run --quiet --locked -p shopfleet-api -- openapi > api/openapi.json

crds: ## regenerate crds/ and the chart's CRDs from the Rust types
	$(CARGO) run --quiet --locked -p shopfleet-operator -- crds --out-dir crds --out-dir charts/shopfleet/files/crds

prerequisites:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo is missing: install Rust 1.90+ (https://rustup.rs)"; exit 1; }
	@command -v go >/dev/null || { echo "error: go is missing: Go 1.26+ builds the Kubernetes binaries the platform runs (https://go.dev/doc/install)"; exit 1; }
