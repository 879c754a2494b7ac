# Beacon: `make run` installs and starts everything (embedded mode); `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck up down bench model clean screenshots

# The extras: `dev` (tests, lint, the Tansu broker of `make up`) and `train` (`make model`);
# the image installs neither (deploy/Dockerfile).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Beacon needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,train]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m services

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy shared services intake_svc triage_svc notify_svc sentiment_svc drill_svc deploy tests bench

# Distributed mode on this machine: Tansu, one process per service (replicas via
# <SERVICE>_REPLICAS=N), PostgreSQL when DATABASE_URL names one, SQLite files otherwise.
up: $(STAMP)
	$(PY) -m deploy.local up

down: $(STAMP)
	$(PY) -m deploy.local down

bench: $(STAMP)
	$(PY) bench/bus.py

# Retrain the sentiment model from the data its packages ship (seeded: same bytes each time),
# and triage's category model and severity safety net from the development sets in
# tests/data/ (deterministic; tests/triage/test_quality.py checks the shipped weights).
model: $(STAMP)
	$(PY) -m sentiment_svc.train
	$(PY) -m triage_svc.train_category
	$(PY) -m triage_svc.train_severity

# Refresh the console's browser assets (services/console/static/vendor/) from the pins in
# services/console/assets/package.json; needs node and npm, which nothing else does.
.PHONY: vendor
vendor: $(STAMP)
	cd services/console/assets && npm ci
	$(PY) -m services.console.vendor

# The console's pages with demo data, as PNGs in docs/screenshots/ (needs Debian's chromium
# and fonts-noto-cjk).
screenshots: $(STAMP)
	$(PY) -m services.console.screenshots

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
