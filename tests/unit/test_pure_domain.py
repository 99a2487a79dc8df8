"""Pure domain rules do no I/O: a grep of their imports proves it (STYLE habit 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = [
    "streams/domain/formatting.py",
    "streams/domain/brazil/__init__.py",
    "streams/domain/brazil/calendar.py",
    "streams/domain/brazil/ddd.py",
    "streams/domain/brazil/documents.py",
    "streams/domain/brazil/errors.py",
    "streams/domain/brazil/money.py",
    "streams/domain/brazil/phones.py",
    "streams/domain/brazil/states.py",
    "streams/domain/brazil/text.py",
    "streams/domain/ledger.py",
    "streams/domain/contact_windows.py",
    "streams/domain/templates.py",
    "streams/domain/tenant_config.py",
    "streams/domain/regua.py",
    "streams/domain/normalization.py",
    "schemas/compatibility.py",
    "connectors/imports/validation.py",
    "connectors/imports/uploads.py",
    "connectors/waha/normalize.py",
    "connectors/waha/dispatch/backoff.py",
    "connectors/waha/dispatch/breaker.py",
    "connectors/waha/dispatch/chat_ids.py",
    "connectors/waha/dispatch/rate.py",
    "connectors/waha/dispatch/sessions.py",
    "connectors/waha/simulator/shapes.py",
    "connectors/waha/simulator/replies.py",
    "models/entities.py",
]
FORBIDDEN = ("faust", "aiokafka", "clickhouse_connect", "chdb", "aiohttp", "structlog", "logging")


@pytest.mark.parametrize("path", PURE_MODULES)
def test_pure_module_imports_no_io_framework(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint(FORBIDDEN), f"{path} imports {imported & set(FORBIDDEN)}"
