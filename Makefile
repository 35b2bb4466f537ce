# Two commands matter: `make run` (serve the portal on the embedded SQLite default) and `make test`.
# Both install what a fresh Debian machine lacks: Debian packages, a virtual environment, the package.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
SANDBOX_PORT ?= 5100
# Test processes per leg (pytest-xdist); a test file stays on one worker, so its module fixtures (live
# servers, their databases) are built once.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile
export FLASK_APP := portal

RUN_DEBS := python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils
BENCH_DEBS := $(TEST_DEBS) wrk

.PHONY: run test lint bench soak fuzz system-deps test-system-deps postgres translations translations-update migrate seed clean help

help:
	@echo "make run    serve the portal on http://127.0.0.1:$(PORT) (SQLite under instance/)"
	@echo "make test   lint, then the whole suite on SQLite and on PostgreSQL"
	@echo "make lint   ruff, bandit, import-linter (the layers)"
	@echo "make bench  benchmarks (JSON on stdout)"
	@echo "make fuzz   the every-route fuzz test at length (FUZZ_EXAMPLES=500 per route) on PostgreSQL"

system-deps:
	@.ci/debian-packages $(RUN_DEBS)

test-system-deps:
	@.ci/debian-packages $(TEST_DEBS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed-run $@

translations: $(VENV)/.installed-run
	$(BIN)/pybabel -q compile -d portal/translations

migrate: $(VENV)/.installed-run
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask demo seed

run: system-deps $(VENV)/.installed-run translations seed
	@echo "Portal: http://127.0.0.1:$(PORT)  (Ctrl+C stops it; the sandbox agency server and the outbox worker run beside it)"
	$(BIN)/flask agencies sandbox --port $(SANDBOX_PORT) & sandbox=$$!; \
	SANDBOX_AGENCY_URL=http://127.0.0.1:$(SANDBOX_PORT) PORTAL_BASE_URL=http://127.0.0.1:$(PORT) \
	$(BIN)/flask outbox run & worker=$$!; \
	trap 'kill $$sandbox $$worker 2>/dev/null' EXIT INT TERM; \
	SANDBOX_AGENCY_URL=http://127.0.0.1:$(SANDBOX_PORT) PORTAL_BASE_URL=http://127.0.0.1:$(PORT) \
	GUNICORN_BIND=127.0.0.1:$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'portal:create_app()'

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r portal -c pyproject.toml
	$(BIN)/lint-imports

postgres:
	@.ci/postgres-up

test: test-system-deps $(VENV)/.installed-dev translations lint postgres
	$(BIN)/pytest --db sqlite $(PYTEST_PARALLEL) --durations=30
	$(BIN)/pytest --db postgresql $(PYTEST_PARALLEL) --durations=30

fuzz: test-system-deps $(VENV)/.installed-dev translations postgres
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/pytest --db postgresql $(PYTEST_PARALLEL) \
		tests/security/test_fuzz.py tests/wallet/test_openapi.py tests/agencies/test_protocol_openapi.py

soak: $(VENV)/.installed-dev translations
	$(BIN)/python bench/soak.py

bench: $(VENV)/.installed-dev translations postgres
	@.ci/debian-packages $(BENCH_DEBS)
	@for script in bench/pages.py bench/wallet.py bench/lookup.py bench/payments.py bench/round_trips.py bench/batches.py bench/reports.py bench/analytics.py; do \
	  echo "== $$script" >&2; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

translations-update: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F portal/translations/babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project "City Bill Payment Portal" -o portal/translations/messages.pot .
	# The Chinese catalogue is kept at 110 columns (long sentences stay on one line), the English one at
	# Babel's default: each is updated at its own width, so an update changes only the new messages.
	$(BIN)/pybabel update -l zh_Hans_CN -w 110 -i portal/translations/messages.pot -d portal/translations \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update -l en -i portal/translations/messages.pot -d portal/translations \
	  --no-fuzzy-matching --ignore-obsolete
