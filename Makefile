# The two set-up commands of the README: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Install arrowds and run the quickstart on a local folder.
demo: $(BIN)/python
	$(BIN)/pip install -q -e '.[fast]'
	$(BIN)/python examples/quickstart.py

# Install the test dependencies (torch first, as the local CPU build) and run lint + tests.
test: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	# Chromium from Debian for the viewer's browser tests (they skip if it cannot start).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || true
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[fast]' datasets pylance
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) quickstart_data .pytest_cache .ruff_cache
