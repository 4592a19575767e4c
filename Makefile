# JoPay developer commands. `make run` starts the stack, `make test` runs the suite.
# Each recipe runs in one bash (ONESHELL) with -e, so a failing step fails the target.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: one per CPU, at most 4 (each takes a
# Redis database below REDIS_URL's, jopay_project/test_settings.py, and its live
# drills open PostgreSQL connections: a stock server allows 100); 0 runs the
# suite in this process.
PYTEST_WORKERS ?= auto

.PHONY: help install test lint run resilience clean

help:
	@echo "make install     create .venv, install deps and anvil (scripts/bootstrap.sh)"
	@echo "make run         start web + worker + beat (+ anvil) on http://127.0.0.1:\$${PORT:-8000}"
	@echo "make test        run pytest on PostgreSQL + Redis (PYTEST_ARGS='-x tests/...', PYTEST_WORKERS=0)"
	@echo "make lint        ruff check ."
	@echo "make resilience  the drills in tests/resilience (pytest -m live) + check --deploy"
	@echo "make clean       stop throwaway services, remove their data and .run"

install:
	@bash scripts/bootstrap.sh

# services.sh picks PostgreSQL/Redis (yours, the machine's, or throwaway ones).
# The assignment, not `eval "$(...)"`, so a failure of services.sh stops here.
test: install
	@bash scripts/test_tools.sh
	envs="$$(bash scripts/services.sh env)"
	eval "$$envs"
	# Two checkouts on one machine share the test databases (test_jopay_gwN) and
	# Redis: a second run waits for the first instead of dropping its database.
	exec 9>"$${TMPDIR:-/tmp}/jopay-make-test.lock"
	if ! flock -n 9; then
	    echo "make test: another make test is running on this machine; waiting for it" >&2
	    flock 9
	fi
	rc=0
	# --dist loadfile: a module's tests share one worker, so its module-scoped
	# fixtures (a live gunicorn, a browser) start once.
	.venv/bin/pytest -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile \
	    $(PYTEST_ARGS) || rc=$$?
	if [ "$$rc" -eq 5 ]; then
	    echo "make test: FAILED: pytest collected no tests (exit 5)" >&2
	    exit 1
	fi
	exit "$$rc"

lint: install
	@.venv/bin/ruff check .

run:
	@bash scripts/run.sh

# Issue #8's drills: the live ones, then `check --deploy` with production
# settings (a plain test, so it is selected by its file, not by -m live).
resilience: install
	@envs="$$(bash scripts/services.sh env)"
	eval "$$envs"
	.venv/bin/pytest -m live tests/resilience $(PYTEST_ARGS)
	.venv/bin/pytest tests/test_deploy_check.py $(PYTEST_ARGS)

clean:
	@bash scripts/services.sh clean
	rm -rf .run
