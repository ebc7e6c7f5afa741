# Airloop developer entry points. `make up` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.airloop-installed
UV_VERSION := $(shell sed -n 's/^uv==//p' requirements-dev.txt)
PYTEST_ARGS ?=
# Test files run on three workers (pytest-xdist): the slow files mostly wait on schedulers, so a
# third worker uses idle cores; a file's tests stay together (shared fixtures). The tiers are
# folders: tests/unit (seconds), tests/dags (real DAG runs in-process), tests/platform (starts the
# platform, the stack, the S3 or model server); tests/conftest.py marks and orders them.
TEST_WORKERS ?= 3

.PHONY: help venv up down status demo test test-fast test-dags test-platform lint lock bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The venv is rebuilt whenever a lock or the package metadata changes.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Airloop needs Python 3.11 (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q include dags plugins >/dev/null
	touch $@

venv: $(STAMP)  ## create .venv from the lock

up: $(STAMP)  ## start the platform (PROFILE=stack: PostgreSQL, Celery/Redis, S3) and wait until healthy
	$(BIN)/airloop up $(if $(PROFILE),--profile $(PROFILE),)

down: $(STAMP)  ## stop everything `make up` started
	$(BIN)/airloop down

status: $(STAMP)  ## show what runs, its health, memory and URLs
	$(BIN)/airloop status

demo: $(STAMP)  ## the closed loop on simulated days (with or without `make up`)
	$(BIN)/airloop demo

# pytest exits 5 when it collected no tests: a suite that ran nothing proves nothing, so fail.
define run_pytest
	@$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(2) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make $(1): pytest collected no tests" >&2; exit 1; fi; exit $$rc
endef

test: $(STAMP)  ## run the whole test suite (every tier, longest files first)
	$(call run_pytest,test,--durations=20)

test-fast: $(STAMP)  ## the unit tier only (tests/unit: seconds; no DAG runs, no processes)
	$(call run_pytest,test-fast,tests/unit)

test-dags: $(STAMP)  ## the dags tier (tests/dags: real DAG runs in-process; minutes)
	$(call run_pytest,test-dags,--durations=10 tests/dags)

test-platform: $(STAMP)  ## the platform tier (tests/platform: starts the platform, stack, servers)
	$(call run_pytest,test-platform,--durations=10 tests/platform)

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lock: $(STAMP)  ## re-resolve requirements.in / requirements-dev.in into the pinned locks
	$(BIN)/uv pip compile -q --python-version 3.11 --no-header requirements.in -o requirements.txt
	$(BIN)/uv pip compile -q --python-version 3.11 --no-header requirements-dev.in -o requirements-dev.txt

# The performance figures against their goals: bench/results/latest.{json,md} (FULL=1 adds 10M
# rows). bench/validation_throughput.py and bench/drift_cost.py break single stages down further.
bench: $(STAMP)  ## measure the performance figures and compare them with the goals
	$(if $(FULL),FULL=1 ,)$(BIN)/python bench/run.py

clean: down  ## stop the platform and remove the venv (keeps .airloop state)
	rm -rf $(VENV)
