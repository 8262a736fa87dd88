# Atelier — two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK_HASH := $(shell sha256sum requirements.lock | cut -c1-12)
STAMP := $(VENV)/.installed-$(LOCK_HASH)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Two workers on this 2-core box; a file's tests stay on one worker (shared servers).
PYTEST_WORKERS ?= 2

.PHONY: axe run test lint format install migrate demo serve messages makemessages worker beat bot actions rasa bench backup restore drill lock clean help

help:
	@echo "make run    - set up everything and serve http://$(HOST):$(PORT) with demo data"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint | worker | beat | bot | actions | rasa | bench | makemessages | lock"
	@echo "make backup | restore BACKUP=latest [RESTORE_ARGS=\"--database-url ... --force\"] | drill"

$(BIN)/python:
	@echo "==> Creating virtualenv in $(VENV) (first run only)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.lock | $(BIN)/python
	@echo "==> Installing dependencies from requirements.lock (a minute or two on first run)"
	@$(BIN)/python -m pip install --progress-bar on -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)
	@echo "==> Dependencies ready"

install: $(STAMP)

messages: install
	@$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0
	@echo "==> Translation catalogs compiled"

migrate: messages
	@echo "==> Applying database migrations"
	@$(BIN)/python manage.py migrate --noinput --verbosity 0

demo: migrate
	@$(BIN)/python manage.py seed_demo
	@$(BIN)/python manage.py sync_nlu_catalogue

serve: demo
	@echo "==> Serving Atelier on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	@$(BIN)/uvicorn core.asgi:application --host $(HOST) --port $(PORT) \
		--ws core.ws_server:SlimSansIOProtocol --ws-per-message-deflate false --lifespan off --no-proxy-headers \
		--timeout-graceful-shutdown 20

run: serve

# axe-core for the journey tests' accessibility checks (npm, pinned in package-lock.json).
AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "==> Installing axe-core for the browser journey tests (npm ci)"; \
		npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch $(AXE); \
	else \
		echo "==> npm not found: the journey tests' accessibility checks will be skipped (CI fails)"; \
	fi

axe: $(AXE)

test: messages $(AXE)
	@echo "==> Running the test suite"
	@$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports --no-cache

format: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

makemessages: install
	@$(BIN)/python manage.py makemessages -l fr -l de -l es -l ja --ignore=.venv --ignore=tests --ignore=bench
	@$(BIN)/python manage.py makemessages -d djangojs -l fr -l de -l es -l ja --ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles

worker: migrate
	@$(BIN)/celery -A core worker --loglevel INFO --concurrency 2

beat: migrate
	@$(BIN)/celery -A core beat --loglevel INFO

bot: migrate
	@$(BIN)/python manage.py run_telegram_bot

actions: migrate
	@$(BIN)/python -m rasa_sdk --actions nlu.actions --port 5055

rasa:
	@bash scripts/rasa.sh venv && bash scripts/rasa.sh validate && bash scripts/rasa.sh train

bench: install
	@$(BIN)/python bench/nlu_accuracy.py
	@$(BIN)/python bench/langdetect_accuracy.py
	@$(BIN)/python bench/ws_load.py
	@$(BIN)/python bench/http_load.py

# Backups (core/backup.py, docs/operations.md): BACKUP_DIR, BACKUP_KEEP from the environment.
BACKUP ?= latest
RESTORE_ARGS ?=

backup: install
	@$(BIN)/python manage.py backup

restore: install
	@$(BIN)/python manage.py restore $(BACKUP) $(RESTORE_ARGS)

# Timed backup -> fresh database -> restore -> verify (needs DATABASE_URL on PostgreSQL).
drill: install
	@$(BIN)/python bench/recovery_drill.py

lock:
	@$(PYTHON) -m pip install --quiet uv --target /tmp/atelier-uv
	@PYTHONPATH=/tmp/atelier-uv /tmp/atelier-uv/bin/uv pip compile pyproject.toml --extra dev \
		--python-version 3.11 -o requirements.lock --no-header

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
