# mockbroker: `make run` serves the bundled catalogs, `make test` runs the whole suite.
# Both create .venv on first use; nothing has to be installed by hand but Python >= 3.11.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DOCS_STAMP := $(VENV)/.installed-docs
PYTEST_ARGS ?=
# podman if installed, else docker (make image CONTAINER_ENGINE=docker to choose).
CONTAINER_ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
IMAGE ?= mockbroker

.PHONY: run test install install-test browser-deps docs-deps xml-deps docs lint bench openapi image clean help

help:
	@echo "make run      serve the bundled catalogs on http://127.0.0.1:8080 (user broker / broker)"
	@echo "make test     install test dependencies and run the whole suite"
	@echo "make bench    compare the broker with a bare Flask app under gunicorn"
	@echo "make lint     ruff, mypy and the import contracts"
	@echo "make docs     build the documentation site into site/ (mkdocs --strict)"
	@echo "make image    build the container image $(IMAGE):latest with version labels"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(STAMP)

install: $(STAMP)

# pytest's JUnit schema (junit-10.xsd) ships only in its sdist: fetched once per .venv
# for the test that validates the findings' JUnit XML (tests/support/junit_schema.py).
install-test: $(TEST_STAMP)
	@$(BIN)/python -m tests.support.junit_schema

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	@touch $@ $(STAMP)

run: install
	$(BIN)/mockbroker serve

# Headless Chromium for the dashboard test, from Debian's packages (never a download
# by a test tool). Without root or apt the browser test skips with a clear reason.
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver for the dashboard test"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "note: chromium/chromedriver missing and cannot be installed here; the browser test will skip"; \
	fi

# The programs the docs' commands use (tests/docs/test_docs.py runs them), from Debian's
# packages. Without root or apt the sessions that need a missing one skip.
DOCS_TOOLS := curl jq psql mysql redis-cli
docs-deps:
	@missing=""; for tool in $(DOCS_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's curl, jq and database clients for the docs tests (missing:$$missing)"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			curl jq postgresql-client mariadb-client redis-tools >/dev/null; \
	else \
		echo "note:$$missing missing and cannot be installed here; the docs tests that use them will skip"; \
	fi

# xmllint, from Debian's libxml2-utils, checks the findings' JUnit XML against pytest's
# schema. Without root or apt that test skips.
xml-deps:
	@if command -v xmllint >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's libxml2-utils (xmllint) for the JUnit schema test"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null; \
	else \
		echo "note: xmllint missing and cannot be installed here; the JUnit schema test will skip"; \
	fi

test: install-test browser-deps docs-deps xml-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	$(BIN)/python -m ruff check broker tests bench docs/hooks
	$(BIN)/python -m ruff format --check broker tests bench docs/hooks
	$(BIN)/python -m mypy
	$(BIN)/lint-imports
	$(BIN)/python -m mypy docs/hooks/references.py

# The site from docs/ (mkdocs.yml); the admin API and command line references are
# generated while it builds (docs/hooks/), so they always match the code.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

bench: install-test
	$(BIN)/python -m bench

openapi: install
	$(BIN)/mockbroker openapi

# The version, revision and build time go in as --label: podman's layer cache would
# keep a stale value from a build argument in a LABEL instruction.
image:
	$(CONTAINER_ENGINE) build --tag $(IMAGE):latest \
		--label org.opencontainers.image.version=$$(sed -n 's/^__version__ = "\(.*\)"$$/\1/p' broker/version.py) \
		--label org.opencontainers.image.revision=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
		--label org.opencontainers.image.created=$$(date -u +%Y-%m-%dT%H:%M:%SZ) \
		.

clean:
	rm -rf $(VENV) .mockbroker .pytest_cache build dist site *.egg-info
