# Courses API — developer entry points. `make help` lists them.
# Every target installs what it needs: a fresh machine needs only python3, make and apt.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The functions run on Python 3.13, so the dev virtualenv does too when a working python3.13
# is installed (pyenv's 3.13.x, or one on PATH); elsewhere python3 (3.11 or newer) stands in.
ifndef PYTHON
PYTHON := $(or $(shell for candidate in $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13; do \
  "$$candidate" -c "" >/dev/null 2>&1 && { command -v "$$candidate"; break; }; done),python3)
endif
# The template tools' own virtualenvs (.venv-sam, .venv-checkov) use the system's python3.
TOOLS_PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell sha1sum requirements-sam.txt 2>/dev/null | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# ---- dependencies ---------------------------------------------------------------------------
# Groups: requirements/<group>.in names what a group needs; requirements/<group>.txt is its
# lock (every package pinned, with hashes), written by `make lock`. A target installs only
# the groups it runs: test (the suite and the local server), fuzz (Schemathesis, Hypothesis),
# dev (ruff, mypy and stubs, import-linter, uv), bench (matplotlib), load (locust).
GROUP_FILES = $(foreach group,$(1),requirements/$(group).txt)
stamp = $(VENV)/.installed-$(firstword $(1))-$(shell cat $(call GROUP_FILES,$(1)) 2>/dev/null | { cat; echo $(PY_VERSION); } | sha1sum | cut -c1-12)
TEST_STAMP := $(call stamp,test)
FUZZ_STAMP := $(call stamp,fuzz test)
DEV_STAMP := $(call stamp,dev test fuzz)
BENCH_STAMP := $(call stamp,bench test)
LOAD_STAMP := $(call stamp,load test)

# (Re)create .venv when it is missing or runs another Python than PYTHON, then install the
# locked groups $(1) with hash checking.
define install_groups
	@have="$$($(PY) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"; \
	if [ "$$have" != "$(PY_VERSION)" ]; then \
	  echo "creating $(VENV) with $(PYTHON) ($(PY_VERSION))"; rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes $(foreach file,$(call GROUP_FILES,$(1)),-r $(file))
	rm -f $(VENV)/.installed-$(firstword $(1))-* && touch $@
endef

$(TEST_STAMP): requirements/test.txt
	$(call install_groups,test)
$(FUZZ_STAMP): requirements/test.txt requirements/fuzz.txt
	$(call install_groups,fuzz test)
$(DEV_STAMP): requirements/test.txt requirements/fuzz.txt requirements/dev.txt
	$(call install_groups,dev test fuzz)
$(BENCH_STAMP): requirements/test.txt requirements/bench.txt
	$(call install_groups,bench test)
$(LOAD_STAMP): requirements/test.txt requirements/load.txt
	$(call install_groups,load test)

# Each group is locked against the ones before it, so any of them install side by side.
# Pins already in a lock are kept unless needed otherwise; LOCK_ARGS=--upgrade refreshes them.
LOCK_ARGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command "make lock" $(LOCK_ARGS)
.PHONY: lock
lock: $(DEV_STAMP) ## Re-lock every dependency group (requirements/*.in -> requirements/*.txt, with hashes)
	$(UV_COMPILE) requirements/test.in -o requirements/test.txt
	$(UV_COMPILE) -c requirements/test.txt requirements/fuzz.in -o requirements/fuzz.txt
	$(UV_COMPILE) $(foreach group,test fuzz,-c requirements/$(group).txt) requirements/dev.in -o requirements/dev.txt
	$(UV_COMPILE) $(foreach group,test fuzz dev,-c requirements/$(group).txt) requirements/bench.in -o requirements/bench.txt
	$(UV_COMPILE) $(foreach group,test fuzz dev bench,-c requirements/$(group).txt) requirements/load.in \
	  -o requirements/load.txt

# What Lambda runs: the shared layer's and the JWKS custom resource's whole dependency trees, pinned with
# hashes for Python 3.13 (the runtime) on every platform, from the names in their requirements.in.
# Their builds (layers/shared/Makefile, functions/jwks_resource/Makefile) install these locks.
LAYER_LOCK_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.13 --generate-hashes \
  --custom-compile-command "make lock-layer" $(LOCK_ARGS)
.PHONY: lock-layer
lock-layer: $(DEV_STAMP) ## Re-lock what Lambda runs: the layer's and the JWKS custom resource's trees (requirements.in -> .txt, hashes), and the runtime client bench-coldstart uses
	$(LAYER_LOCK_COMPILE) layers/shared/requirements.in -o layers/shared/requirements.txt
	$(LAYER_LOCK_COMPILE) functions/jwks_resource/requirements.in -o functions/jwks_resource/requirements.txt
	$(LAYER_LOCK_COMPILE) requirements/ric.in -o requirements/ric.txt

$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(TOOLS_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	rm -f $(SAM_VENV)/.installed-* && touch $@

.PHONY: install
install: $(DEV_STAMP) $(SAM_STAMP) redis-binary ## Create the virtualenvs: what make test runs (test, fuzz, dev groups), template tools, redis-server

.PHONY: redis-binary
redis-binary: ## Install redis-server from apt when it is missing (tests start one if none runs)
	@command -v redis-server >/dev/null || { \
	  echo "redis-server missing: installing it with apt"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server; }

.PHONY: lint
lint: $(DEV_STAMP) ## ruff; mypy --strict on the layer, functions, local tooling, benchmarks and tests; the layer's import contract; actionlint
	$(BIN)/ruff check .
	$(BIN)/mypy --strict layers/shared/courses_api functions local benchmarks tests
	PYTHONPATH=layers/shared $(BIN)/lint-imports
	$(BIN)/actionlint .github/workflows/*.yml

.PHONY: test
test: install lint check ## Lint, type-check, check the template, then run the whole suite
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(FUZZ_STAMP) ## Only the test suite (no lint, no template checks)
	$(BIN)/pytest -x -q $(PYTEST_ARGS)

# ---- fuzzing ---------------------------------------------------------------------------------
FUZZ_EXAMPLES ?= 200
.PHONY: fuzz
fuzz: $(FUZZ_STAMP) redis-binary ## Long fuzz run: Hypothesis targets (20,000 examples each) + Schemathesis, all phases, new seed
	HYPOTHESIS_PROFILE=fuzz SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_SEED= \
	  $(BIN)/pytest -q --timeout=3600 tests/unit/fuzz tests/e2e/test_schemathesis.py $(PYTEST_ARGS)

# ---- template checks -------------------------------------------------------------------------
# checkov has its own virtualenv: its pins clash with pytest and locust. The network may be
# closed, hence --skip-download (no policy download from the Prisma platform).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum requirements-checkov.txt 2>/dev/null | cut -c1-12)
# sam build without Docker needs the runtime's Python (3.13) first on PATH; pyenv's shims fail.
PY313_BIN ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin /root/.pyenv/versions/3.13*/bin) $(dir $(shell command -v python3.13 2>/dev/null)))
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(TOOLS_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

.PHONY: validate
validate: $(SAM_STAMP) ## sam validate --lint and cfn-lint on template.yaml
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml

.PHONY: checkov
checkov: $(CHECKOV_STAMP) ## checkov on template.yaml: zero failures; each skip's reason is in .checkov.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

# The layer and the JWKS custom resource build their own bytecode (their Makefiles); SAM's Python builder
# ships the other functions' sources only, so every build is followed by the same step for them:
# unchecked-hash Python 3.13 .pyc files (valid whatever the zip's timestamps, reproducible).
# Each function's files are recorded under /var/task, where Lambda puts them (the layer's: /opt/python).
COMPILE_BUILD = for fn in .aws-sam/build/*/; do fn="$${fn%/}"; case "$$fn" in */SharedLayer) continue;; esac; \
  "$(PY313_BIN)/python3.13" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$$fn" -p /var/task "$$fn" \
  || exit 1; done

.PHONY: sam-build
sam-build: $(SAM_STAMP) ## sam build without Docker (arm64 wheels, Python 3.13 from pyenv), with Python 3.13 bytecode in every function and the layer
	@test -n "$(PY313_BIN)" || { echo "python3.13 not found (pyenv versions 3.13.x or python3.13 on PATH)"; exit 1; }
	PATH="$(PY313_BIN):$$PATH" $(SAM_ENV) $(SAM_VENV)/bin/sam build --parallel --template template.yaml
	$(COMPILE_BUILD)

.PHONY: check
check: validate checkov sam-build ## All template checks: validate + cfn-lint, checkov, sam build

# ---- deploy ---------------------------------------------------------------------------------
# ENV=dev uses samconfig.toml's [default] section, ENV=prod its [prod] section, ENV=launch its [launch] one
# (the prod stack with the launch throttle and concurrency, see docs/DEPLOY.md).
ENV ?= dev
SAM_CONFIG_ENV = $(if $(filter prod launch,$(ENV)),$(ENV),default)
# Extra `sam deploy` flags, e.g. the pipeline's --no-confirm-changeset.
SAM_DEPLOY_ARGS ?=
# The region is the operator's (AWS_REGION, AWS_DEFAULT_REGION or the profile), as for any AWS CLI.
SAM := PATH="$(PY313_BIN):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
# Every deploy re-fetches the user pool's JWKS (template parameter JwksRefresh): the section's
# parameter_overrides plus the deploy's time, since a command-line list replaces the section's.
JWKS_REFRESH = --parameter-overrides $$($(SAM_VENV)/bin/python -c "import tomllib; print(' '.join(tomllib.load(open('samconfig.toml', 'rb'))['$(SAM_CONFIG_ENV)']['deploy']['parameters']['parameter_overrides']))") JwksRefresh=$$(date -u +%Y%m%dT%H%M%SZ)

.PHONY: deploy
deploy: $(SAM_STAMP) ## Build and deploy: make deploy ENV=dev|prod|launch (guided the first time, when the stack does not exist)
	@case "$(ENV)" in dev|prod|launch) ;; *) echo "ENV must be dev, prod or launch, not '$(ENV)'"; exit 1;; esac
	@test -n "$(PY313_BIN)" || { echo "python3.13 not found (pyenv versions 3.13.x or python3.13 on PATH)"; exit 1; }
	$(SAM) build --config-env $(SAM_CONFIG_ENV) --template template.yaml
	$(COMPILE_BUILD)
	@set -e; stack=$$($(SAM_VENV)/bin/python -c "import tomllib; print(tomllib.load(open('samconfig.toml', 'rb'))['$(SAM_CONFIG_ENV)']['global']['parameters']['stack_name'])"); \
	$(SAM_VENV)/bin/python -m ops.stack_exists "$$stack" && found=0 || found=$$?; \
	case $$found in \
	  0) $(SAM) deploy --config-env $(SAM_CONFIG_ENV) $(JWKS_REFRESH) $(SAM_DEPLOY_ARGS) ;; \
	  1) if [ -n "$${CI:-}" ]; then $(SAM) deploy --config-env $(SAM_CONFIG_ENV) $(JWKS_REFRESH) $(SAM_DEPLOY_ARGS); else \
	     echo "$$stack does not exist yet: guided deploy (answers are saved to samconfig.toml [$(SAM_CONFIG_ENV)])"; \
	     $(SAM) deploy --guided --config-env $(SAM_CONFIG_ENV) $(SAM_DEPLOY_ARGS); fi ;; \
	  *) exit 2 ;; \
	esac

.PHONY: deploy-check
deploy-check: $(TEST_STAMP) validate checkov sam-build ## Everything checkable without an account: lint, checkov, invariant tests, sam build, quotas
	$(BIN)/pytest -q -p no:cacheprovider tests/template
	@echo "CloudFormation quotas (the template as the SAM transform expands it):"
	@$(PY) -m ops.template_limits

URL ?=
TOKEN ?=
INSTRUCTOR_TOKEN ?=
ADMIN_TOKEN ?=
ORIGINS ?=
.PHONY: smoke
smoke: $(TEST_STAMP) ## Smoke-test a deployed stage: make smoke URL=<ApiUrl> TOKEN=<ID token> [INSTRUCTOR_TOKEN=...] [ADMIN_TOKEN=...] [ORIGINS=...]
	@test -n "$(URL)" -a -n "$(TOKEN)" || { echo "usage: make smoke URL=<stack output ApiUrl> TOKEN=<ID token of a non-instructor> [INSTRUCTOR_TOKEN=<ID token of an instructor>] [ADMIN_TOKEN=<ID token of an admin>] [ORIGINS=<AllowedOrigins>]"; exit 2; }
	@$(PY) -m ops.smoke --url "$(URL)" --token "$(TOKEN)" --instructor-token "$(INSTRUCTOR_TOKEN)" --admin-token "$(ADMIN_TOKEN)" --origins "$(ORIGINS)"

STACK ?= courses-api-dev
GITHUB_ENV_FILE ?=
.PHONY: smoke-users
smoke-users: $(TEST_STAMP) ## Sign in the smoke users of a dev stack, for the pipeline: make smoke-users STACK=... GITHUB_ENV_FILE=$$GITHUB_ENV
	@test -n "$(GITHUB_ENV_FILE)" || { echo "usage: make smoke-users STACK=<dev stack> GITHUB_ENV_FILE=<file the variables are appended to>"; exit 2; }
	@$(PY) -m ops.smoke_users --stack "$(STACK)" --github-env "$(GITHUB_ENV_FILE)"

# ---- local API -----------------------------------------------------------------------------
PORT ?= 3000
SUB ?= local-user
GROUPS ?=
LOAD_USERS ?= 200
LOAD_SPAWN_RATE ?= 50
LOAD_TIME ?= 60s
# moto deep-copies every table on each TransactWriteItems (0.6 s per enrollment at 1,000
# courses), which would make the emulator, not the API, the bottleneck of the load test.
LOAD_SEED_COURSES ?= 300

.PHONY: run
run: $(TEST_STAMP) redis-binary ## Serve every route on http://127.0.0.1:3000 (PORT=...; moto, the ElastiCache stand-in, sample data)
	PORT=$(PORT) $(PY) -m local run

.PHONY: token
token: $(TEST_STAMP) ## Print a bearer token for make run: make token SUB=alice GROUPS=instructors,admins
	@$(PY) -m local token --sub "$(SUB)" --groups "$(GROUPS)"

.PHONY: openapi
openapi: $(TEST_STAMP) ## Write the merged OpenAPI document of all functions to docs/openapi.json
	$(PY) -m local openapi --output docs/openapi.json

.PHONY: load
load: $(LOAD_STAMP) redis-binary ## Load test: locust, 200 users for 60 s, headless, against make run (started if needed)
	@mkdir -p loadtest/results
	@set -euo pipefail; started=""; \
	probe() { $(PY) -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$(PORT)/health', timeout=2)" 2>/dev/null; }; \
	if ! probe; then \
	  echo "starting the local API on port $(PORT) (log: loadtest/results/server.log)"; \
	  PORT=$(PORT) SEED_COURSES=$(LOAD_SEED_COURSES) $(PY) -m local run --quiet > loadtest/results/server.log 2>&1 & started=$$!; \
	  trap 'kill $$started 2>/dev/null; wait $$started 2>/dev/null || true' EXIT; \
	  for _ in $$(seq 1 180); do probe && break; kill -0 $$started 2>/dev/null || { cat loadtest/results/server.log; exit 1; }; sleep 1; done; \
	fi; \
	PYTHONPATH=.:layers/shared $(BIN)/locust -f loadtest/locustfile.py --headless --only-summary \
	  -u $(LOAD_USERS) -r $(LOAD_SPAWN_RATE) -t $(LOAD_TIME) --host http://127.0.0.1:$(PORT) \
	  --csv loadtest/results/load --html loadtest/results/load.html; \
	echo "results: loadtest/results/load_stats.csv, loadtest/results/load.html"

# Cold starts are measured on the functions' runtime, python3.13, in a virtualenv holding only the
# layer's requirements (as the deployed layer does); python3 stands in, with a notice, where 3.13 is absent.
COLD_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
COLD_VENV := .venv-py313
COLD_STAMP := $(COLD_VENV)/.installed-$(shell sha1sum layers/shared/requirements.txt 2>/dev/null | cut -c1-12)

$(COLD_STAMP): layers/shared/requirements.txt
	@interpreter="$(COLD_PYTHON)"; \
	if [ -z "$$interpreter" ]; then interpreter=$(PYTHON); \
	  echo "python3.13 not found: cold starts will be measured on $$($$interpreter --version) instead"; fi; \
	test -x $(COLD_VENV)/bin/python || $$interpreter -m venv $(COLD_VENV)
	$(COLD_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLD_VENV)/bin/python -m pip install --quiet --require-hashes -r layers/shared/requirements.txt
	rm -f $(COLD_VENV)/.installed-* && touch $@

# The built artifact runs under the SAM CLI's runtime interface emulator with AWS's runtime
# interface client as bootstrap, from a python3.13 virtualenv holding only that client (as
# Lambda's /var/runtime does): requirements/ric.txt, locked with hashes by `make lock-layer`.
RIC_VENV := .venv-ric
RIC_STAMP := $(RIC_VENV)/.installed-$(shell sha1sum requirements/ric.txt 2>/dev/null | cut -c1-12)
$(RIC_STAMP): requirements/ric.txt
	@test -n "$(COLD_PYTHON)" || { echo "python3.13 not found (pyenv versions 3.13.x or python3.13 on PATH)"; exit 1; }
	test -x $(RIC_VENV)/bin/python || $(COLD_PYTHON) -m venv $(RIC_VENV)
	$(RIC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/ric.txt
	rm -f $(RIC_VENV)/.installed-* && touch $@
ARTIFACT_ENV = RIC_PYTHON=$(CURDIR)/$(RIC_VENV)/bin/python SAM_CLI=$(CURDIR)/$(SAM_VENV)/bin/sam PY313_BIN=$(PY313_BIN)

BENCH_ARGS ?=
.PHONY: bench
bench: $(BENCH_STAMP) $(COLD_STAMP) $(SAM_STAMP) $(RIC_STAMP) redis-binary ## Benchmark the four tiers on 20k courses (~25 min; BENCH_ARGS=--quick for a small run)
	$(ARTIFACT_ENV) COLD_START_PYTHON=$(CURDIR)/$(COLD_VENV)/bin/python $(PY) -m benchmarks.run $(BENCH_ARGS)

.PHONY: bench-coldstart
bench-coldstart: $(BENCH_STAMP) $(COLD_STAMP) $(SAM_STAMP) $(RIC_STAMP) redis-binary ## Cold start on python3.13 against the naive backend, in-process and as the sam build artifact under the runtime emulator (~3 min)
	@$(COLD_VENV)/bin/python -c 'import sys; sys.version_info[:2] == (3, 13) or print("note: no python3.13 here, measuring on", sys.version.split()[0])'
	$(ARTIFACT_ENV) COLD_START_PYTHON=$(CURDIR)/$(COLD_VENV)/bin/python $(PY) -m benchmarks.coldstart

.PHONY: bench-bill
bench-bill: $(BENCH_STAMP) $(COLD_STAMP) ## Whole bill per million requests from the recorded figures (benchmarks/results), with the in-function token check measured (~1 min)
	COLD_START_PYTHON=$(CURDIR)/$(COLD_VENV)/bin/python PYTHONPATH=.:layers/shared $(PY) -m benchmarks.bill

.PHONY: bench-cache
bench-cache: $(BENCH_STAMP) redis-binary ## Cache figures: near/Redis hit, miss, bare GET, 64-way stampede, frozen Redis (~1 min)
	PYTHONPATH=.:layers/shared $(PY) -m benchmarks.cache_bench

.PHONY: bench-baseline
bench-baseline: $(TEST_STAMP) redis-binary ## Rewrite tests/perf/read_costs.json (calls, read units, Redis round trips per request kind) after a change that moves them on purpose
	READ_COSTS_UPDATE=1 $(BIN)/pytest -q -p no:cacheprovider tests/perf -k match_the_baseline

.PHONY: bench-writes
bench-writes: $(BENCH_STAMP) ## Write capacity model: a 10,000/s launch on 50,000/s of Zipf background, three designs over seeds 14-16: before, unannounced, declared launch (~6 min)
	PYTHONPATH=.:layers/shared $(PY) -m benchmarks.writes $(BENCH_ARGS)

.PHONY: format
format: $(DEV_STAMP) ## Apply ruff's fixes and formatter
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtualenvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .coverage htmlcov

