# payedge — `make help` lists the targets. Everything runs in ./.venv.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export VIRTUAL_ENV := $(abspath $(VENV))
# pytest-benchmark and hypothesis write here; keep it out of the tree root.
PYTEST := $(BIN)/python -m pytest

.PHONY: help setup system-deps venv build build-dev wheel serve test test-rust test-python lint fmt \
        bench bench-quick bench-http bench-ledger soak fuzz loadtest docs clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

system-deps: ## Install Redis, Mosquitto, Chromium, wrk, PostgreSQL 15 and the test tools from Debian when absent
	@bash scripts/install-system-deps.sh

$(VENV)/.deps-stamp: requirements-dev.txt pyproject.toml server/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.deps-stamp ## Create .venv with the pinned Python dependencies

# The extension is abi3 (_core.abi3.so); an older per-version build would shadow it.
STALE_EXT := rm -f python/payedge/_core.cpython-*.so

build: venv ## Build the Rust extension (release) and install payedge + payedge_server into .venv
	$(STALE_EXT)
	cd $(CURDIR) && $(BIN)/maturin develop --release -q
	$(BIN)/python -m pip install -q --no-deps -e server

build-dev: venv ## Same as build, unoptimised (faster to compile; not for benchmarks)
	$(STALE_EXT)
	cd $(CURDIR) && $(BIN)/maturin develop -q
	$(BIN)/python -m pip install -q --no-deps -e server

wheel: venv ## Build the payedge wheel (abi3, any CPython >= 3.11) and the payedge-server wheel into dist/
	rm -rf dist && mkdir -p dist
	$(BIN)/maturin build --release --out dist -q
	rm -rf server/build  # setuptools' staging copy: a stale one would ship deleted modules
	$(BIN)/python -m pip wheel --no-deps -q -w dist ./server
	rm -rf server/build

setup: system-deps build ## Everything: system packages, .venv, native build

serve: setup ## Set up, then start the edge server on its embedded defaults
	$(BIN)/payedge serve $(ARGS)

test: setup test-rust test-python ## Set up, then run the whole test suite (Rust and Python)

test-rust: ## Rust unit and property tests of payedge-core
	cargo test -p payedge-core --quiet

test-python: ## pytest: unit, differential, integration and e2e tests (needs build)
	$(PYTEST) tests

lint: venv ## rustfmt, clippy -D warnings, ruff, mypy
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(BIN)/ruff check python server tests bench loadtest
	$(BIN)/ruff format --check python server tests bench loadtest
	$(BIN)/mypy

fmt: venv ## Format Rust and Python sources
	cargo fmt --all
	$(BIN)/ruff format python server tests bench loadtest
	$(BIN)/ruff check --fix python server tests bench loadtest

# Not --benchmark-only: the bench files' plain tests check the benchmarks' own inputs
# (the routing mix routes as described), and would otherwise be skipped everywhere.
bench: build ## Full benchmarks: Python vs peers (pytest-benchmark) and Rust (criterion)
	$(PYTEST) bench -p no:cacheprovider --benchmark-columns=min,median,mean,ops,rounds
	cargo bench -p payedge-core

bench-quick: build ## Quick benchmark pass (CI): fewer rounds, ratios printed and checked
	BENCH_QUICK=1 $(PYTEST) bench -p no:cacheprovider \
		--benchmark-min-rounds=3 --benchmark-max-time=0.2 --benchmark-columns=min,median,ops
	$(BIN)/python -m bench.http.run --quick

bench-http: build ## HTTP load harness (wrk): payedge vs Stripe-docs baseline vs bare aiohttp, 10 s each
	$(BIN)/python -m bench.http.run $(ARGS)

soak: build ## Soak (not in CI): 10 minutes of webhooks with a short retention; RSS and disk stay flat
	$(BIN)/python -m bench.soak $(ARGS)

bench-ledger: build ## Ledger: durable transfers/s through the store; checkout with postings off/on (docs/ledger.md)
	$(BIN)/python -m bench.ledger $(ARGS)

loadtest: build ## Locust scenarios (checkout, webhook storm, status polling) headless for 20 s
	$(BIN)/python -m loadtest.run $(ARGS)

docs: venv ## Build the documentation site into site/ (--strict: a broken link or reference fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

fuzz: ## Run every cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 30)
	bash scripts/fuzz.sh $${FUZZ_SECONDS:-30}

clean: ## Remove build products and the venv
	cargo clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks
