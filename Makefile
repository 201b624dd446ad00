# Every target that needs the virtual environment builds it first, so a fresh clone needs
# nothing but `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# A dry run on the embedded example workspace (AWS, Azure and GCP enabled): nothing is written.
run: $(STAMP)
	$(BIN)/injector --example

lint: $(STAMP)
	$(BIN)/ruff format --check injector tests
	$(BIN)/ruff check injector tests

typecheck: $(STAMP)
	$(BIN)/mypy injector

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
