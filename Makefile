# Atrium: `make run` brings the platform up, `make test` runs every test. Nothing else is needed
# beyond Python 3.11, make and git: the virtual environment, packages and servers come from PyPI.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UNITS := libs/contracts libs/platform_core libs/client_contract libs/platform_dev services/client services/scheduling services/portal_requests services/membership_billing services/notification gateway web
INSTALLED := $(VENV)/.installed

.PHONY: install run test unit-tests lint typecheck proto proto-check bench clean

install: $(INSTALLED)

$(INSTALLED): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(UNITS))
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt \
		$(addprefix -e ,$(UNITS))
	@touch $@

## Regenerate Python code from proto/ (committed; never edited by hand).
proto: $(INSTALLED)
	$(BIN)/python libs/contracts/codegen.py

## Fail when the committed generated code is not what proto/ generates.
proto-check: $(INSTALLED)
	$(BIN)/python -m pytest -q tests/contract/test_generated_code.py

## The whole platform in the foreground, with a demo tenant; Ctrl-C stops everything.
run: proto
	$(BIN)/python -m platform_dev.run

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy $(addsuffix /src,$(filter-out libs/contracts,$(UNITS))) bench

## Unit, integration, contract and end-to-end tests (embedded PostgreSQL and NATS unless configured).
test: $(INSTALLED) lint typecheck
	$(BIN)/python -m pytest

unit-tests: $(INSTALLED)
	$(BIN)/python -m pytest -q libs/*/tests/unit services/*/tests/unit gateway/tests/unit web/tests/unit

## Benchmarks against raw PostgreSQL/NATS figures from the same run (not part of `make test`).
bench: $(INSTALLED)
	$(BIN)/python -m bench
	ATRIUM_VOLUME_TESTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider services/client/tests/integration/test_client_import_volume.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
