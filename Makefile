# The commands a user types. `make run` and `make test` bootstrap .venv from a clean clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
CHROMIUM := /usr/bin/chromium
# apt-get needs root: as another user it runs through sudo.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=300

# The pages whose pasted outputs cog regenerates from real runs (docs/docgen.py runs their commands).
DOCS   := README.md $(wildcard docs/*.md)
COG    := $(BIN)/cog -P -I docs -p "import docgen" --markers "[[[cog cog]]] [[[end]]]"

.PHONY: run test lint format docs chromium load bench budgets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed  ## Serve the API on http://$(HOST):$(PORT) (the playground at /, Swagger UI at /docs)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m app.server

lint: $(VENV)/.installed-dev  ## Static checks: ruff, formatting, mypy, import layering, Dockerfile, outputs pasted in the docs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/hadolint Dockerfile
	$(COG) --check --diff --verbosity=1 --check-fail-msg "run make docs" $(DOCS)

format: $(VENV)/.installed-dev  ## Rewrite the code in the project's style
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(VENV)/.installed-dev  ## Rewrite the outputs pasted in README.md and docs/*.md from real runs (cog)
	$(COG) -r $(DOCS)

# The browser tests drive Debian's Chromium through Playwright (never a browser download).
$(CHROMIUM):
	$(APT) update
	$(APT) install -y chromium

chromium: $(CHROMIUM)  ## Install Debian's Chromium for the browser tests, if it is missing

test: lint chromium  ## Lint, install Chromium if missing, then run the whole test suite
	$(BIN)/python -m pytest

# LOAD_ARGS passes options to bench/load.py, e.g. LOAD_ARGS="--clients 8 --duration 30 --attack
# explain --attackers 8" (attack kinds: error-bomb, stream-non-reader, plain-non-reader, explain),
# or LOAD_ARGS="--class" for a class of 300 students' lessons ramped over a minute.
load: $(VENV)/.installed-dev  ## Load test: mixed endpoints, many clients, minutes (bench/load.py)
	$(BIN)/python bench/load.py $(LOAD_ARGS)

bench: $(VENV)/.installed-dev  ## Benchmarks: ratios to same-run baselines, PASS/FAIL (bench/)
	$(BIN)/python -m bench $(BENCH_ARGS)

budgets: $(VENV)/.installed-dev  ## Per endpoint, the largest answer the limits accept: bytes, time, memory (bench/budgets.py)
	$(BIN)/python -m bench.budgets $(BUDGETS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
