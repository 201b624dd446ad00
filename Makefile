# Every target that needs the virtual environment builds it first, so a fresh clone needs
# nothing but `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two levels: `make run` needs the package alone (cryptography); the tests need the dev extras
# and nginx/wrk. So a newcomer's `make run` installs no test tool and asks for no root.
RUN_STAMP := $(VENV)/.installed-run
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed-dev

.PHONY: install run demo docs dist test root lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUN_STAMP)

# scripts/system-packages: nginx and wrk (tests and bench), installed with apt-get when root.
$(STAMP): pyproject.toml scripts/system-packages | $(BIN)/python
	bash scripts/system-packages
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP) $(DEMO_STAMP)

# The demo's extra (moto, boto3, trustme, pyjwt) without the test tools or system packages.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[demo]'
	touch $(DEMO_STAMP) $(RUN_STAMP)

install: $(STAMP)

# A dry run on the embedded example workspace (every cloud enabled): nothing is written.
run: $(RUN_STAMP)
	$(BIN)/injector --example

# A real login on this machine, no cloud and no root: issuer over HTTPS, strict STS stand-in,
# moto, Terraform's s3 backend (boto3 without terraform), verify, and a refused token.
demo: $(DEMO_STAMP)
	$(BIN)/python -m demo

# The reference pages from the code (scripts/gen_reference.py), then the site into site/.
docs: $(STAMP)
	$(BIN)/python scripts/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# A wheel in dist/, to install elsewhere with pip or pipx.
dist: $(RUN_STAMP)
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps -w dist .

lint: $(STAMP)
	$(BIN)/ruff format --check injector tests bench demo scripts
	$(BIN)/ruff check injector tests bench demo scripts

# The tests, bench, demo and scripts too, under the same strict settings (pyproject's
# [tool.mypy]): a helper's wrong annotation fails here rather than misleading the next reader.
typecheck: $(STAMP)
	$(BIN)/mypy injector tests bench demo scripts

unit: $(STAMP)
	$(BIN)/pytest

# The suite needs root: said before anything is installed (tests/needs-root.txt says why).
root:
	@if [ "$$(id -u)" -ne 0 ]; then cat tests/needs-root.txt >&2; exit 2; fi

test: root
	$(MAKE) lint typecheck unit

# Every bench/bench_*.py module, one after the other: see bench/run.py.
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) dist build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
