# Every target that needs the virtual environment builds it first, so a fresh clone needs
# nothing but `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench clean

# scripts/system-packages: nginx and wrk (tests and bench), installed with apt-get when root.
$(STAMP): pyproject.toml scripts/system-packages
	bash scripts/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# A dry run on the embedded example workspace (AWS, Azure and GCP enabled): nothing is written.
run: $(STAMP)
	$(BIN)/injector --example

lint: $(STAMP)
	$(BIN)/ruff format --check injector tests bench
	$(BIN)/ruff check injector tests bench

typecheck: $(STAMP)
	$(BIN)/mypy injector

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# Every bench/bench_*.py module, one after the other: see bench/run.py.
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
