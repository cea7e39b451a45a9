# Two commands set everything up on a fresh machine (README, "Quick start"):
#   make up     create .venv, install supakit, start the embedded database, migrate, seed
#   make test   create .venv if needed, run the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: up test lint bench install js-deps

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

up: $(BIN)/.installed
	$(BIN)/supakit up

# realtime-js tests (tests/test_realtime_js.py) drive node scripts with the npm packages pinned in tests/js
tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/js && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the realtime-js tests will be skipped"; fi

js-deps: tests/js/node_modules/.installed

test: $(BIN)/.installed js-deps
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/supakit lint

bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@status=0; for b in reset rls messaging realtime webhooks jobs; do \
	  $(BIN)/python bench/$$b.py || status=1; done; exit $$status
