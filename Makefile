# The two commands a newcomer needs: `make run` and `make test`. Each sets up everything first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Servers the stack runs, and tools the tests use (docker-compose only validates; no engine needed).
DEBIAN_PACKAGES := redis-server prometheus prometheus-alertmanager docker-compose wrk

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

run: setup
	$(VENV)/bin/tronops up --smoke

test: setup lint
	$(PY) -m pytest -q --junitxml=var/junit.xml

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy service stack tronops loadtests smoke alerts dashboards harness

bench: setup
	$(VENV)/bin/tronops bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
