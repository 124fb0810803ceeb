# The two commands a newcomer needs: `make run` and `make test`. Each sets up everything first.
# `make test-fast` is the quick loop (unit tests, lint, generators; under a minute).
# PYTHON picks the interpreter (3.11 to 3.13) and VENV where its virtualenv goes, e.g.
#   make test-fast PYTHON=python3.13 VENV=.venv-3.13
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PACKAGES := service stack harness tronops loadtests smoke alerts dashboards chaos drills gameday
# Servers the stack runs, and tools the tests use (docker-compose only validates; no engine needed).
DEBIAN_PACKAGES := redis-server prometheus prometheus-alertmanager docker-compose wrk chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup run test test-fast lint bench clean

setup: $(VENV)/.installed
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

run: setup
	$(VENV)/bin/tronops up --smoke

# Every test, in a shuffled order (the seed is printed at the end; replay with -p randomly --randomly-seed=N).
test: setup lint
	$(PY) -m pytest -q --junitxml=var/junit.xml

# The tests that start no process of ours (unit, generators, lint, manifests, the CLI), plus lint.
test-fast: setup lint
	$(PY) -m pytest -q -m unit --junitxml=var/junit-fast.xml

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(PACKAGES)
	$(VENV)/bin/tronops generate --check

bench: setup
	$(VENV)/bin/tronops bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
