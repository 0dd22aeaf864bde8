# Syllabus: the two commands are `make run` and `make test`; everything they need is
# installed on first use (uv into .tools/, the workspace into .venv/).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
RUN := $(UV) run --frozen --no-sync

PACKAGE_TESTS := shared/tests $(wildcard services/*/tests) $(wildcard deploy/local/tests) deploy/tests

.PHONY: help install run test lint format unit e2e contracts schemas clean

help:
	@echo "make run     - the whole stack on 127.0.0.1:$${GATEWAY_PORT:-8000} (embedded PostgreSQL/NATS unless DATABASE_URL/NATS_URL)"
	@echo "make test    - lint, then every test against real PostgreSQL and NATS"
	@echo "make lint    - ruff, mypy, import contracts, event-schema drift"
	@echo "make schemas - re-export event JSON Schemas into contracts/schemas"
	@echo "make clean   - stop nothing, delete local data (.data/)"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml services/*/pyproject.toml deploy/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

install: .venv/.synced

run: install
	$(RUN) python -m syllabus_devstack run $(ARGS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared/src services/*/src deploy/local/src
	$(RUN) lint-imports
	$(RUN) python -m syllabus_shared.contracts.export --check contracts/schemas
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

e2e: install
	@if ls tests-e2e/test_*.py >/dev/null 2>&1; then $(RUN) pytest -q tests-e2e; else echo "no e2e tests yet"; fi

test: lint unit e2e

schemas: install
	$(RUN) python -m syllabus_shared.contracts.export contracts/schemas

clean:
	rm -rf .data
