# Developer entry points. `make test` installs everything into .venv and runs the test suite;
# `make quickstart` installs and runs the demo pipeline on the embedded broker.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install compile debug test test-pure bench quickstart lint clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

compile: $(STAMP)
	$(BIN)/python setup.py build_ext --inplace

debug: $(STAMP)
	KCFAST_DEBUG=1 $(BIN)/python setup.py build_ext --inplace --force

test: compile
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-pure: $(STAMP)
	KCFAST_NO_EXTENSIONS=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: compile
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-json=benchmarks/results/latest.json $(PYTEST_ARGS)

quickstart: compile
	$(BIN)/kcfast quickstart

clean:
	rm -rf build src/kcfast/*.so src/kcfast/_core.c src/kcfast/_core.html
