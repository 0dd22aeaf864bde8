# Syllabus: the two commands are `make run` and `make test`; everything they need is
# installed on first use (uv into .tools/, the workspace into .venv/).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
RUN := $(UV) run --frozen --no-sync
# When this make began (the install included): make test and make bench report their wall time.
STARTED := $(shell date +%s)

# The browser tests (tests-e2e/test_web_*.py) drive Debian's chromium-headless-shell with
# Playwright and scan every page with axe-core, fetched from the npm registry (not committed).
CHROMIUM ?= /usr/bin/chromium-headless-shell
AXE_VERSION := 4.14.1
AXE := .tools/axe-core-$(AXE_VERSION)/axe.min.js

PACKAGE_TESTS := shared/tests devkit/tests $(wildcard services/*/tests) $(wildcard deploy/local/tests) deploy/tests \
	clients/python/tests

.PHONY: help install run test test-packages test-stack lint format unit e2e contracts schemas openapi client bench clean \
	reliability-short reliability chaos fuzz check-consistency

help:
	@echo "make run     - the whole stack on 127.0.0.1:$${GATEWAY_PORT:-8000} (embedded PostgreSQL/NATS unless DATABASE_URL/NATS_URL)"
	@echo "make test    - lint, then every test against real PostgreSQL and NATS"
	@echo "make lint    - ruff, mypy, import contracts, event-schema and client drift"
	@echo "make unit    - each package's own tests (services alone, real PostgreSQL and NATS)"
	@echo "make contracts - event pacts, HTTP routes vs OpenAPI, database boundaries"
	@echo "make e2e     - the whole stack (make run's way) driven through the gateway, and the web in a browser"
	@echo "make browser - what the browser tests need: Debian's chromium-headless-shell, axe-core"
	@echo "make schemas - re-export event JSON Schemas into contracts/schemas"
	@echo "make openapi - re-write the merged public OpenAPI document contracts/openapi.json"
	@echo "make client  - re-generate the typed Python client clients/python from contracts/openapi.json"
	@echo "make bench   - throughput/latency vs same-run baselines -> bench/results/latest.{json,md} (ARGS=--quick)"
	@echo "make reliability - every fault test incl. the slow ones (NATS away > 2 min; tests-reliability/)"
	@echo "make chaos   - workload + nemesis, heal, drain, check (ARGS=\"--duration 150 --seed N\"; < 5 min)"
	@echo "make fuzz    - long schemathesis run against the gateway, every role (ARGS=\"--fuzz-examples 60\")"
	@echo "make check-consistency - compare every projection with its owners (the make run stack: its DATABASE_URL, else .data)"
	@echo "make clean   - stop nothing, delete local data (.data/)"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml services/*/pyproject.toml deploy/*/pyproject.toml clients/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

install: .venv/.synced

# What the browser tests need beyond the workspace: Debian's headless Chromium (installed
# when missing and we are root; otherwise a clear message) and axe-core's script.
browser: $(AXE)
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing chromium-headless-shell (Debian) for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell; \
		else \
			echo "The browser tests need Debian's chromium-headless-shell at $(CHROMIUM)." >&2; \
			echo "Install it: sudo apt-get install -y chromium-headless-shell (or set CHROMIUM=<path>)." >&2; \
			exit 1; \
		fi; \
	fi

$(AXE):
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; \
		else \
			echo "The accessibility scan needs axe-core from the npm registry: install npm (sudo apt-get install -y npm)." >&2; \
			exit 1; \
		fi; \
	fi
	rm -rf .tools/axe-pack && mkdir -p .tools/axe-pack
	cd .tools/axe-pack && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar -xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js
	mkdir -p $(dir $(AXE)) && mv .tools/axe-pack/package/axe.min.js $(AXE) && rm -rf .tools/axe-pack

run: install
	$(RUN) python -m syllabus_devstack run $(ARGS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared/src devkit/src services/*/src deploy/local/src clients/python/src clients/python/generate.py
	$(RUN) lint-imports
	$(RUN) python -m syllabus_shared.contracts.export --check contracts/schemas
	$(RUN) python clients/python/generate.py --check
	$(RUN) python -m syllabus_devkit.pacts contracts/pacts contracts/schemas
	PYTHON=$(PYTHON) deploy/validate.sh

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# Each package's tests run in their own pytest process (each service's tests are
# written as if they were the only ones, like the services themselves).
unit: install
	@set -e; for dir in $(PACKAGE_TESTS); do \
		echo "== $$dir"; $(RUN) pytest -q $$dir; \
	done

# Consumer-driven event pacts, gateway routes vs each service's OpenAPI, the checked-in
# merged OpenAPI document, database-role isolation (docs/contracts.md).
contracts: install
	$(RUN) pytest -q contracts/tests

e2e: install browser
	CHROMIUM=$(CHROMIUM) AXE_CORE_JS=$(AXE) $(RUN) pytest -q tests-e2e

# Fault tests with real processes (docs/reliability.md): the short share of make test,
# everything (incl. NATS away > 2 min), the chaos run, long fuzzing, the checker alone.
reliability-short: install
	$(RUN) pytest -q -m "not slow" tests-reliability

reliability: install
	$(RUN) pytest -q tests-reliability $(ARGS)

chaos: install
	$(RUN) python tests-reliability/chaos.py $(ARGS)

fuzz: install
	$(RUN) pytest -q tests-reliability/test_4_fuzz.py --fuzz-examples 60 $(ARGS)

check-consistency: install
	$(RUN) python tests-reliability/checker.py --data-dir .data $(ARGS)

# Lint first; then two lanes side by side, each suite as it runs alone: the packages'
# own tests and the contracts (each its own PostgreSQL and NATS), and the whole stack
# (e2e with the browser, then the short fault tests). Every suite still runs, and one
# failing fails the whole (`make -k test` lets the other lane finish). Three lanes (lint
# beside the rest, e2e and the fault tests apart) took 8:22 instead of ~9 min once, but
# on two cores three stacks starting together pushed a fault test past a 10 s connect
# timeout in the next run: CPU, not lanes, is what bounds this suite (performance.md).
test: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=recurse test-packages test-stack; \
	rc=$$?; took=$$(( $$(date +%s) - $(STARTED) )); \
	echo "make test: $$((took / 60)) min $$((took % 60)) s, install included (performance goal: 7 min)"; \
	exit $$rc

test-packages: install
	@$(MAKE) --no-print-directory unit contracts

test-stack: install browser
	@$(MAKE) --no-print-directory e2e reliability-short

schemas: install
	$(RUN) python -m syllabus_shared.contracts.export contracts/schemas

openapi: install
	$(RUN) python contracts/tests/public_api.py

# The typed Python client (clients/python/README.md), generated from the checked-in
# contracts/openapi.json: run after `make openapi`; `make lint` checks it is up to date.
client: install
	$(RUN) python clients/python/generate.py

# Starts its own stack on free ports; uses wrk when installed, else bench/loadgen.py.
# BENCH_STARTED: the whole command's start, so the report's own row counts the install.
bench: install
	BENCH_STARTED=$(STARTED) $(RUN) python bench/run.py $(ARGS)

clean:
	rm -rf .data
