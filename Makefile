# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-postgres serve lint format bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# Compile the engine's numba code once into its on-disk cache (about half a minute).
	$(BIN)/python -c 'from app.engine.simulator import compile_engine; compile_engine()'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stocklean demo

test: $(STAMP)
	$(BIN)/python -m pytest backend/tests -q

test-postgres: $(STAMP)
	STOCKLEAN_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
		$(BIN)/python -m pytest backend/tests -q

# The demo's market, project 18, train job 120 and run 615 first (once), so the whole
# Project 18 flow can be run from the browser.
serve: $(STAMP)
	$(BIN)/stocklean demo --setup-only
	$(BIN)/stocklean serve

lint: $(STAMP)
	$(BIN)/ruff check backend
	$(BIN)/ruff format --check backend

format: $(STAMP)
	$(BIN)/ruff format backend
	$(BIN)/ruff check --fix backend

bench: $(STAMP)
	for script in backend/benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

# The screenshots in docs/screenshots/: the demo in a scratch directory, then each page of the
# web UI captured from it by headless Chromium (backend/tests/browser/test_screenshots.py).
SCREENSHOT_DEMO ?= var/screenshot-demo
screenshots: $(STAMP)
	rm -rf $(SCREENSHOT_DEMO) && mkdir -p $(SCREENSHOT_DEMO)
	cd $(SCREENSHOT_DEMO) && $(abspath $(BIN))/stocklean demo
	STOCKLEAN_DEMO_DIR=$(SCREENSHOT_DEMO) $(BIN)/python -m pytest backend/tests/browser/test_screenshots.py -q

clean:
	rm -rf $(VENV) var .pytest_cache
