# `make run` and `make test` each set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What running needs, and that plus the test extra (pytest, hypothesis, ruff, mypy):
# `make run` installs no test tools. Each stamp marks an install done.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# The exact versions every install takes, so two fresh machines get the same set;
# `make lock` resolves it anew from pyproject.toml (test extra included) to the newest allowed.
CONSTRAINTS := constraints.txt
# The project installs editable on purpose; setuptools says so in a banner on every
# install (an "information only" warning, which pip shows even with --quiet).
PIP_INSTALL := PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet

.PHONY: run test lint bench bench-quick lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -c $(CONSTRAINTS) -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -c $(CONSTRAINTS) -e '.[test]'
	touch $@

run: $(RUN_STAMP)
	$(BIN)/python -m bot run

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 4

bench: $(RUN_STAMP)
	$(BIN)/python -m bench

bench-quick: $(RUN_STAMP)
	$(BIN)/python -m bench --quick

# Needs only the venv's Python, not an install that the old pins may no longer satisfy.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv>=0.9,<1'
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--upgrade --quiet --custom-compile-command 'make lock' --output-file $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
