# Every target installs what it needs first (infra/bootstrap.sh: venv and broker jars in a cache
# outside the repo, reused when present).
SHELL := /bin/bash
BIN = $(shell bash infra/bootstrap.sh | tail -n 1)

.PHONY: demo test unit integration lint typecheck install

demo:
	@bin=$(BIN) && $$bin/cobranca demo

test:
	@bin=$(BIN) && $$bin/pytest

unit:
	@bin=$(BIN) && $$bin/pytest tests/unit

integration:
	@bin=$(BIN) && $$bin/pytest -m integration

lint:
	@bin=$(BIN) && $$bin/ruff check . && $$bin/ruff format --check .

typecheck:
	@bin=$(BIN) && $$bin/mypy

install:
	@bash infra/bootstrap.sh >/dev/null
