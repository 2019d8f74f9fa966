# The Makefile is the interface: CI and people call these targets only.
# Everything is installed into .venv from nothing but python3 and the package registries.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PYTEST := $(PY) -m pytest
PACKAGES := shared source-convex destination-convex integration_tests
TEST_TOOLS := "pytest>=8" "pytest-timeout>=2.3" "pytest-xdist>=3.5" "requests-mock>=1.11" "hypothesis>=6.100" "pyyaml>=6"
# Pinned: a new ruff or mypy release brings new findings; bump them on purpose, in one commit.
CHECK_TOOLS := "ruff==0.17.6" "mypy==2.4.1" "types-requests==2.33.0.20261030"
# The three product packages `make check` lints and type-checks (each with its own pyproject's settings).
PRODUCT := shared/convex_shared source-convex/source_convex destination-convex/destination_convex
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install check test test-unit wheels wheel-test demo pyairbyte-test reliability bench bench-parallel bench-scale bench-startup bench-server images image-test clean

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): Makefile shared/pyproject.toml source-convex/pyproject.toml destination-convex/pyproject.toml integration_tests/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	@# Distributions of the names used before 1.0.0's wheels (source-convex, destination-convex) would linger.
	@$(PIP) uninstall --yes --quiet source-convex destination-convex >/dev/null 2>&1 || true
	@# PYTHONWARNINGS: setuptools prints a framed notice per editable install (BuildBackendWarning).
	PYTHONWARNINGS=ignore::UserWarning $(PIP) install --quiet -e shared -e integration_tests -e source-convex -e destination-convex $(TEST_TOOLS) $(CHECK_TOOLS)
	touch $(STAMP)

install: $(STAMP) ## Build .venv and install every package (editable) plus the test and check tools

check: install ## Lint (ruff), check formatting (ruff format) and type-check (mypy --strict) the product packages
	$(VENV)/bin/ruff check $(PRODUCT)
	$(VENV)/bin/ruff format --check $(PRODUCT)
	@# One mypy run per package: each reads its own pyproject (source and destination find ../shared).
	$(VENV)/bin/mypy --config-file shared/pyproject.toml shared/convex_shared
	$(VENV)/bin/mypy --config-file source-convex/pyproject.toml source-convex/source_convex
	$(VENV)/bin/mypy --config-file destination-convex/pyproject.toml destination-convex/destination_convex

test: install ## Run every test (unit and integration, against the local Convex-compatible server)
	$(PYTEST) shared
	$(PYTEST) integration_tests/tests integration_tests/reliability integration_tests/e2e/tests integration_tests/bench/tests
	$(PYTEST) source-convex
	$(PYTEST) destination-convex

test-unit: install ## Run only the fast unit tests (no network)
	@# One run per package: each package's pyproject sets its own pythonpath for its test helpers.
	$(PYTEST) shared/tests/unit
	$(PYTEST) source-convex/tests/unit
	$(PYTEST) destination-convex/tests/unit

wheels: install ## Build the two connector wheels into dist/ (each carries the shared client)
	rm -rf dist source-convex/build destination-convex/build
	PYTHONWARNINGS=ignore::UserWarning $(PIP) wheel --quiet --no-deps --wheel-dir dist ./source-convex ./destination-convex
	rm -rf source-convex/build destination-convex/build
	@ls -1 dist

wheel-test: wheels ## Install each wheel alone into an empty venv; spec, check, discover, read | write on a local server
	$(PY) integration_tests/wheels/wheel_test.py

demo: install ## The main job: Convex A -> source-convex -> destination-convex -> Convex B, then an incremental sync
	$(PY) integration_tests/e2e/demo.py

pyairbyte-test: install ## End-to-end through PyAirbyte (its own venv) against the local server
	bash integration_tests/e2e/pyairbyte/run.sh

reliability: install ## The long fault / crash / bad-input sweep; prints the reliability table
	$(PY) -m pytest integration_tests/reliability --sweep

bench: install ## Benchmarks side by side: ours vs the incumbent vs the floor (writes the docs table)
	$(PY) integration_tests/bench/run.py

bench-parallel: install ## B9 alone: snapshots of 20 tables at 50 ms per request, parallel_snapshots=4 vs 1 vs the floor
	$(PY) integration_tests/bench/parallel_snapshots.py

bench-scale: install ## B8: a 2,000,000-document table read by the source and written by the destination (~10 min; writes the docs)
	$(PY) integration_tests/bench/run.py --only B8

bench-startup: install ## B7 alone: start-up time of spec, check and a tiny read / write, ours vs the incumbent (prints only)
	$(PY) integration_tests/bench/run.py --only B7 --no-write

bench-server: install ## Time the local server serving one 1024-document snapshot page
	$(PY) -m convex_local.bench

images: install ## Build both connector images with podman on a local Debian stand-in base
	bash integration_tests/images/build.sh

image-test: images ## Run spec/check/discover/read/write in containers against the local server
	bash integration_tests/images/test.sh

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .work dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
