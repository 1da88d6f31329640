# Tidings — `make run` starts everything, `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export FLASK_APP := app

.PHONY: run test test-sqlite test-postgresql bench lint install install-dev migrate seed clean screenshots

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## Migrate, seed the demo business and start web + worker + scheduler (+ Redis when REDIS_URL is unset).
run: install
	$(PY) scripts/run.py

migrate: install
	$(VENV)/bin/flask db upgrade heads

seed: migrate
	$(VENV)/bin/flask seed --if-empty

## The whole suite on SQLite, then again on PostgreSQL when DATABASE_TEST_URL (or localhost) answers.
test: install-dev
	$(PY) scripts/test.py

## Redraw the README's screenshots (docs/screenshots) from the browser tests.
screenshots: install-dev
	TIDINGS_SCREENSHOTS=docs $(PY) -m pytest -q -m browser

lint: install-dev
	$(VENV)/bin/ruff check .

bench: install-dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) instance
