# Courses API — developer entry points. `make help` lists them.
# Every target installs what it needs: a fresh machine needs only python3, make and apt.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/shared/requirements.txt 2>/dev/null | sha1sum | cut -c1-12)
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell sha1sum requirements-sam.txt 2>/dev/null | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt layers/shared/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	rm -f $(SAM_VENV)/.installed-* && touch $@

.PHONY: install
install: $(STAMP) $(SAM_STAMP) redis-binary ## Create the virtualenvs and install every dependency

.PHONY: redis-binary
redis-binary: ## Install redis-server from apt when it is missing (tests start one if none runs)
	@command -v redis-server >/dev/null || { \
	  echo "redis-server missing: installing it with apt"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server; }

.PHONY: lint
lint: $(STAMP) ## ruff on everything, mypy --strict on the layer
	$(BIN)/ruff check .
	$(BIN)/mypy --strict layers/shared/courses_api

.PHONY: test
test: install lint check ## Lint, type-check, check the template, then run the whole suite
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(STAMP) ## Only the test suite (no lint, no template checks)
	$(BIN)/pytest -x -q $(PYTEST_ARGS)

.PHONY: format
format: $(STAMP) ## Apply ruff's fixes and formatter
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtualenvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

