# The two commands a new user needs: `make run` and `make test`.
# Everything else (venv, DynamoDB Local, tables) is set up on demand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOSW := $(BIN)/sosw-core

.PHONY: help venv dynamodb-local run test test-unit test-integration lint bench chaos clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,schema]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv with the package and test tools

dynamodb-local: $(STAMP)  ## fetch DynamoDB Local once into ~/.cache/sosw-core
	$(BIN)/python -m sosw_core.local.dynamodb_local fetch

run: dynamodb-local  ## run the main job: a local deployment working through an example job
	$(SOSW) demo

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check sosw_core essentials workers tests

test: dynamodb-local lint  ## all tests (unit on moto, integration on DynamoDB Local)
	$(BIN)/pytest -q

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: dynamodb-local
	$(BIN)/pytest -q tests/integration

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
