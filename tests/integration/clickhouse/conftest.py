"""A client of the session's local ClickHouse server (tests/integration/conftest.py) and a fresh
database per test. Every test talks to the server over HTTP with clickhouse-connect, as
production code does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import apply_migrations, connect
from streams.base.settings import Settings


@pytest.fixture(scope="session")
def client(clickhouse_settings: Settings) -> Iterator[Client]:
    with connect(clickhouse_settings) as opened:
        yield opened


@pytest.fixture
def database() -> str:
    """A database name no other test uses (created by whatever the test runs)."""
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def migrated(client: Client, database: str) -> str:
    apply_migrations(client, database)
    return database
