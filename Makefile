# The two commands that matter: `make run` (the whole system locally) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install system-deps control-plane stripe-mock tools cluster cluster-down run test test-unit test-faults test-tools lint format vegeta bench bench-quick clean

install: system-deps $(VENV)/.installed

system-deps:
	@bash hack/install-system-deps.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	@touch $@

control-plane:
	@bash hack/build-control-plane.sh

stripe-mock:
	@bash hack/build-stripe-mock.sh

vegeta:
	@bash hack/build-vegeta.sh

tools: install
	@bash hack/install-tools.sh jupyterlab prefect

cluster: install control-plane
	$(BIN)/apranova cluster up

cluster-down:
	$(BIN)/apranova cluster down

run: install control-plane
	$(BIN)/python -m apranova.local.stack

test: install control-plane stripe-mock tools
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install stripe-mock
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The fault suite at full scale (200 enrollments, 10 operator kills, its own control plane for
# the kube-apiserver restarts...); `make test` runs it at FAULTS_SCALE=short.
test-faults: install control-plane stripe-mock
	FAULTS_SCALE=full $(BIN)/pytest tests/faults $(PYTEST_ARGS)

test-tools: install control-plane
	-@bash hack/install-tools.sh superset codeserver
	APRANOVA_TOOLS_SLOW=1 $(BIN)/pytest tests/e2e/test_tool_contract_slow.py tests/e2e/test_tool_contract_codeserver.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $@

# Benchmarks (never part of `make test`): every phase on the local stack, results in bench/results/.
bench: install control-plane vegeta $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

bench-quick: install control-plane vegeta $(VENV)/.bench-installed
	$(BIN)/python -m bench.run --quick

clean:
	-$(BIN)/apranova cluster down --purge
	rm -rf $(VENV) .local test-output
