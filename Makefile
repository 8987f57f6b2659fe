# The two commands a new user needs: `make run` and `make test`.
# Everything else (venv, DynamoDB Local, tables) is set up on demand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOSW := $(BIN)/sosw-core
VENV_SOSW07 ?= .venv-sosw07
SOSW07_STAMP := $(VENV_SOSW07)/.installed

.PHONY: help venv dynamodb-local run test test-unit test-integration lint bench bench-smoke package deploy chaos clean

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

DEMO_ARGS ?=
run: dynamodb-local  ## run the main job: a local deployment working through example jobs (DEMO_ARGS="--tasks 300")
	$(SOSW) demo $(DEMO_ARGS)

lint: $(STAMP)  ## ruff (with the complexity limit), mypy and cfn-lint
	$(BIN)/ruff check sosw_core essentials workers tests bench devtools
	$(BIN)/mypy sosw_core
	$(BIN)/cfn-lint cloudformation/*.yaml

STAGE ?= dev
package: $(STAMP)  ## build build/layer.zip and build/functions.zip (reproducible)
	$(SOSW) package --out build

deploy: $(STAMP)  ## deploy to AWS: make deploy STAGE=dev BUCKET=my-artifacts (or SOSW_DEPLOY_BUCKET)
	$(SOSW) deploy --stage $(STAGE)$(if $(BUCKET), --bucket $(BUCKET))

test: dynamodb-local lint $(SOSW07_STAMP)  ## all tests (unit on moto, integration on DynamoDB Local, bench smoke)
	$(BIN)/pytest -q

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: dynamodb-local
	$(BIN)/pytest -q tests/integration

$(SOSW07_STAMP): bench/sosw07/requirements.txt
	$(PYTHON) -m venv $(VENV_SOSW07)
	$(VENV_SOSW07)/bin/pip install --quiet -r bench/sosw07/requirements.txt
	touch $(SOSW07_STAMP)

bench: dynamodb-local $(SOSW07_STAMP)  ## sosw-core vs sosw 0.7.51 on one DynamoDB Local (< 15 min) -> bench/results.json
	$(BIN)/python -m bench.harness

bench-smoke: dynamodb-local $(SOSW07_STAMP)  ## tiny sizes, one repeat (part of make test)
	$(BIN)/python -m bench.harness --smoke

CHAOS_ARGS ?=
chaos: dynamodb-local  ## 10,000 tasks under crashes, hangs, duplicates, late reports, throttling, a killed Scheduler; then 10,000+ fuzz cases (CHAOS_ARGS="--tasks 2000")
	$(BIN)/python -m devtools.chaos --tasks 10000 $(CHAOS_ARGS)
	SOSW_FUZZ_PROFILE=chaos $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

clean:
	rm -rf $(VENV) $(VENV_SOSW07) build dist *.egg-info .pytest_cache .ruff_cache
