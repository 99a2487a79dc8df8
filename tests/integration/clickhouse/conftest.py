"""Fixtures on the real chDB engine.

chDB runs in-process and hosts one data path per process, so each test module gets one
module-scoped client on its own fresh path, closed when the module ends (before the next module
opens another path). Tests inside a module isolate themselves with a fresh database each. Do not
run these tests with pytest-xdist: the workers would not share the engine anyway, but two modules
in one worker would need their paths in sequence, which is what module scope gives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import connect
from streams.settings import Settings


def chdb_settings(path: Path) -> Settings:
    """Settings for embedded chDB at `path`, whatever the developer's environment says."""
    return Settings.from_env({"COBRANCA_CHDB_PATH": str(path)})


@pytest.fixture(scope="module")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="module")
def client(chdb_path: Path) -> Iterator[Client]:
    with connect(chdb_settings(chdb_path)) as opened:
        yield opened


@pytest.fixture
def database() -> str:
    """A database name no other test uses (created by whatever the test runs)."""
    return f"test_{uuid.uuid4().hex[:12]}"
