# Every target installs what it needs first (infra/bootstrap.sh: venv and broker jars in a cache
# outside the repo, reused when present).
SHELL := /bin/bash
BIN = $(shell bash infra/bootstrap.sh | tail -n 1)

.PHONY: demo test unit integration chaos lint typecheck install

demo:
	@bin=$(BIN) && $$bin/cobranca demo

test:
	@bin=$(BIN) && $$bin/pytest

unit:
	@bin=$(BIN) && $$bin/pytest tests/unit

integration:
	@bin=$(BIN) && $$bin/pytest -m integration

# The long fault campaign (issue 16 §5, docs/performance.md "Fault campaign"): every test marked
# `chaos`, each printing `fault=... events_in=... events_out=... duplicates=0 lost=0` (also
# appended to COBRANCA_FAULT_REPORT when set). `make test` runs their short versions. Among them
# the multi-worker campaign (docs/adr/0016): COBRANCA_CHAOS_RUNS seeded runs (10) of
# COBRANCA_CHAOS_REQUESTS requests (20,000), 3 workers, 6 partitions; about 2 minutes a run.
chaos:
	@bin=$(BIN) && $$bin/pytest -m chaos -s

lint:
	@bin=$(BIN) && $$bin/ruff check . && $$bin/ruff format --check . && $$bin/lint-imports

typecheck:
	@bin=$(BIN) && $$bin/mypy

install:
	@bash infra/bootstrap.sh >/dev/null
