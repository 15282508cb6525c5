# Entry commands of the order-messaging system. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard contracts/pyproject.toml libs/*/pyproject.toml devstack/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml))
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup node-tools run test test-unit test-faults test-fidelity lint format schemas browser bench-write bench-long bench-read bench-notify bench-system up down clean

setup: $(STAMP)

$(STAMP): Makefile requirements/constraints.txt requirements/dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -r requirements/dev.txt $(addprefix -e ./,$(PACKAGES))
	touch $(STAMP)

# Node.js tools the suite runs against the product (AsyncAPI parser, axe-core), pinned in tools/node/package.json;
# installed without a lock file (it would record download addresses).
NODE_TOOLS := tools/node/node_modules/.installed

node-tools: $(NODE_TOOLS)

$(NODE_TOOLS): tools/node/package.json
	cd tools/node && SCARF_ANALYTICS=false npm install --silent --no-package-lock --no-audit --no-fund
	touch $@

# The ports are checked first, with the machine's Python, so a taken one is reported before the installs.
# DEVSTACK_<NAME>_PORT and DEVSTACK_PORT_OFFSET move them (README, "The local stack").
run:
	@$(PYTHON) devstack/src/ordertalk_devstack/ports.py check
	@$(MAKE) --no-print-directory setup
	$(BIN)/python -m ordertalk_devstack run

browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Browser tests run in their own pytest session: Playwright's sync API keeps an event loop
# running in the main thread, which the asyncio tests cannot share.
# Of the fault scenarios (tests/faults), `make test` runs only those marked faults_subset (about a minute).
test: setup browser node-tools
	$(BIN)/python -m pytest -m "not browser and (not faults or faults_subset)" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m browser $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/python -m pytest -m "not e2e and not browser" tests/contracts $(wildcard tests/*/unit) $(PYTEST_ARGS)

# Every fault scenario on the whole running system (issue 13): SIGKILLs during load, paused broker and MongoDB,
# an SMTP outage, a wiped broker; each audited against the store. Outside `make test`; several minutes.
test-faults: setup
	$(BIN)/python -m pytest -m faults tests/faults tests/system/test_broker_recovery.py $(PYTEST_ARGS)

# The MongoDB-backed suites (projections, notifier) once more on a second MongoDB-wire server, SecantusDB (MongoDB's
# WiredTiger engine), so the code depends on MongoDB's semantics rather than on nx-27017's; outside `make test`.
test-fidelity: setup
	env -u MONGO_URL -u TESTCONTAINERS TEST_MONGO_SERVER=secantusdb $(BIN)/python -m pytest -m "not browser" tests/projections tests/notifier $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(addsuffix /src,$(PACKAGES)) tests $(wildcard bench)
	for f in services/*/importlinter.ini; do $(BIN)/lint-imports $$f || exit 1; done

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schemas: setup
	$(BIN)/python -m ordertalk_contracts schemas --out contracts/schemas
	$(BIN)/python -m ordertalk_devstack.asyncapi_app --out contracts/schemas/asyncapi.json
	$(BIN)/python -m ordertalk_devstack.api_documents --out docs/api

bench-write: setup
	$(BIN)/python bench/write.py

# A thread of 10,000 messages: HTTP post p50/p99 and a cold load of its aggregate, snapshots on and off (issue 17)
bench-long: setup
	$(BIN)/python bench/long_thread.py

bench-read: setup
	$(BIN)/python bench/read.py

bench-notify: setup
	$(BIN)/python bench/notify.py

# The whole system as `make run` starts it, on free ports, at stepped post rates (issue 17); BENCH_SYSTEM_ARGS
# passes --steps, --seconds, --screens.
bench-system: setup
	$(BIN)/python bench/system.py $(BENCH_SYSTEM_ARGS)

COMPOSE := docker compose -f deploy/compose/compose.yaml --env-file deploy/compose/.env

deploy/compose/.env:
	cp deploy/compose/.env.example $@

up: deploy/compose/.env
	$(COMPOSE) up -d --build --wait

down:
	$(COMPOSE) down

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tools/node/node_modules
