# casedesk — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench lint screenshots install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Install, migrate the embedded SQLite database, create the first admin, serve.
run: install
	$(BIN)/casedesk db upgrade
	$(BIN)/casedesk user bootstrap
	$(BIN)/casedesk serve --host $(HOST) --port $(PORT)

## The whole suite, on SQLite and PostgreSQL.
test: install-dev
	$(BIN)/pytest -n 2 -q $(PYTEST_ARGS)

## Benchmarks; JSON on stdout.
bench: install-dev
	@$(BIN)/python -m bench $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

## Re-render the documentation's screenshots (docs/screenshots) from the browser tests.
screenshots: install-dev
	CASEDESK_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
