# Two commands for newcomers: `make run` (set up + serve the dashboard with demo data on SQLite)
# and `make test` (the whole test suite; DATABASE_URL picks the database, SQLite by default).
UV_VERSION := 0.13.9
UV := .tools/bin/uv
PYTHON := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup chromium lint bench fuzz a11y

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked
	touch $@

setup: .venv/.synced

# The task worker (it sends the invitation emails, printed to this console) runs beside
# runserver and stops with it. The system checks run once, with migrate (the other commands
# skip them, so their warnings print once); the emails demo_data queued (budget alerts) are
# sent before the server starts, so demo_runserver's logins and URL are the last lines.
run: setup
	DEBUG=1 $(PYTHON) manage.py migrate --no-input
	DEBUG=1 $(PYTHON) manage.py demo_data --skip-checks
	DEBUG=1 $(PYTHON) manage.py db_worker --skip-checks --batch --no-reload --verbosity 0
	DEBUG=1 $(PYTHON) manage.py db_worker --skip-checks & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(PYTHON) manage.py demo_runserver --skip-checks $(HOST):$(PORT)

# Browser tests drive Debian's Chromium; install it once if the machine lacks it.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Tests run on every core (pytest-xdist), a whole test file per worker so that data a module
# builds once is built once; files are handed out longest first (tests/conftest.py), not by count.
# Each worker and each `manage.py` the tests start imports the whole project: with cached bytecode
# (even where PYTHONDONTWRITEBYTECODE is set) none compiles it again (~3 s each).
test: setup chromium
	$(PYTHON) -m ruff check .
	.venv/bin/lint-imports --no-cache
	DEBUG=1 $(PYTHON) manage.py makemigrations --check --dry-run
	PYTHONDONTWRITEBYTECODE= $(PYTHON) -m pytest -n auto --dist loadfile --no-loadscope-reorder \
		$(PYTEST_ARGS)

lint: setup
	$(PYTHON) -m ruff check .
	.venv/bin/lint-imports --no-cache
	$(PYTHON) -m ruff format --check .

bench: setup
	$(PYTHON) -m pytest -m bench -s tests

# The input fuzz alone (pages and form fields), every caller given every value (prints how many
# requests it made), the JSON API's schema fuzz at ten times the examples the suite runs, and the
# membership state machine at 1,000 sequences (the suite runs 50; it prints sequences and steps).
fuzz: setup
	PRISM_FUZZ=full $(PYTHON) -m pytest -s tests/site/test_input_fuzz.py
	PRISM_API_FUZZ_EXAMPLES=200 $(PYTHON) -m pytest tests/api/test_schema_fuzz.py
	PRISM_STATE_MACHINE_EXAMPLES=1000 $(PYTHON) -m pytest -s tests/members/test_membership_state_machine.py

# axe-core on every page as every role in both themes, with its table of what it checked and
# the violations by rule (`make test` runs it with the dark theme as the Owner and anonymous only).
a11y: setup chromium
	PRISM_A11Y=full $(PYTHON) -m pytest -s tests/browser/test_accessibility.py
