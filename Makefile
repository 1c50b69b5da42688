# Xiuhua — the two set-up commands: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install dev lint typecheck clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

## Build the demo city into ./var/xiuhua.db, print the demo logins and serve it on
## http://$(HOST):$(PORT) (`make demo PORT=8080`, `make demo HOST=0.0.0.0` for the LAN).
demo: install
	$(BIN)/xiuhua demo
	@echo "绣花 Xiuhua：http://$(HOST):$(PORT) （Ctrl-C 停止）"
	$(BIN)/xiuhua serve --host $(HOST) --port $(PORT)

lint: dev
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

## The whole suite on SQLite and on a throw-away PostgreSQL cluster, pages in headless Chromium.
test: dev
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	scripts/ensure-chromium.sh
	@url=$$(scripts/pg-test-cluster.sh start | tail -n 1) && \
	  echo "PostgreSQL test cluster: $$url" && \
	  XIUHUA_TEST_PG_URL=$$url $(BIN)/python -m pytest $(PYTEST_ARGS); \
	  status=$$?; scripts/pg-test-cluster.sh stop; exit $$status

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

## Benchmarks against the performance targets (bench/README.md): a few minutes at small sizes;
## `make bench FULL=1` runs the issue's sizes (1 M cases, 1 M points; about half an hour).
bench: dev
	bench/ensure-tools.sh
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench $(if $(FULL),--full --years 1 10) $(BENCH_ARGS)

## This tree against an older commit (default: the last before issue 14), intake and assessment
## in alternating rounds (bench/compare.py); the old tree is a git worktree under /tmp.
OLD ?= 5fe40ea
bench-compare: dev
	bench/ensure-tools.sh
	@[ -d /tmp/xh-bench-old-$(OLD) ] || git worktree add --detach /tmp/xh-bench-old-$(OLD) $(OLD)
	$(BIN)/python -m bench.compare --old /tmp/xh-bench-old-$(OLD) $(BENCH_ARGS)

.PHONY: bench bench-compare
