# Two commands set everything up on a fresh machine (README, "Quick start"):
#   make up     create .venv, install supakit, start the embedded database, migrate, seed
#   make test   create .venv if needed, run the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: up test lint bench install

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

up: $(BIN)/.installed
	$(BIN)/supakit up

test: $(BIN)/.installed
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/supakit lint

bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/reset.py
	$(BIN)/python bench/rls.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/webhooks.py
