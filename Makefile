# Developer entry points. `make test` installs everything into .venv and runs the test suite;
# `make quickstart` installs and runs the demo pipeline on the embedded broker.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install compile debug test test-pure bench bench-compare quickstart lint clean

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

# Benchmarks: the core microbenchmarks and the loop benchmarks side by side with the plain librdkafka loops,
# the pure-Python twin and Quix Streams (in its own environment: it pins an older confluent-kafka).
# BENCH_RECORDS sets the records of each loop benchmark; results go to benchmarks/results/.
PEERS_VENV := benchmarks/results/peers-venv
BENCH_RECORDS ?= 1000000
# BENCH_ROUNDS: rounds of each side of the sink, source and peers loops (the median CPU round is kept).
BENCH_ROUNDS ?= 3

$(PEERS_VENV)/.installed:
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/pip install --quiet "$$($(BIN)/python -c 'import tomllib; print(*[d for d in tomllib.load(open("pyproject.toml","rb"))["project"]["optional-dependencies"]["bench"] if d.startswith("quixstreams")])')" orjson
	touch $@

bench: compile $(PEERS_VENV)/.installed
	mkdir -p benchmarks/results
	$(BIN)/python -m pytest benchmarks -p no:cacheprovider --records $(BENCH_RECORDS) --rounds $(BENCH_ROUNDS) \
		--benchmark-json=benchmarks/results/latest.json $(PYTEST_ARGS)

# Check the last results against benchmarks/bounds.json (BASELINE=<an earlier loops-*.json> to compare).
bench-compare:
	$(BIN)/python tools/check_bounds.py $(if $(BASELINE),--baseline $(BASELINE))

quickstart: compile
	$(BIN)/kcfast quickstart

clean:
	rm -rf build src/kcfast/*.so src/kcfast/_core.c src/kcfast/_core.html
