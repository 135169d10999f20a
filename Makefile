# gridloop: `make run` starts everything on this machine; `make test` tests everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
STAGE ?= dev
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-unit test-functional test-e2e bench package lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m devstack

test: $(STAMP)
	$(PY) -m pytest

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-functional: $(STAMP)
	$(PY) -m pytest tests/functional

test-e2e: $(STAMP)
	$(PY) -m pytest tests/e2e

# The figures DEVELOPERS' budgets are measured by (see bench/README.md).
bench: $(STAMP)
	$(PY) -m bench

# A deployable SAM template for STAGE (dev or prod): Chalice's own, merged with
# infra/resources.json and partial batch responses on every queue.
package: $(STAMP)
	mkdir -p build
	GRIDLOOP_STAGE=$(STAGE) $(PY) -m infra.template $(STAGE) --merge > build/merge-$(STAGE).json
	GRIDLOOP_STAGE=$(STAGE) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
		$(VENV)/bin/chalice package --stage $(STAGE) --merge-template build/merge-$(STAGE).json build/$(STAGE)

lint: package
	$(VENV)/bin/cfn-lint build/$(STAGE)/sam.json

clean:
	rm -rf build .cache .pytest_cache
