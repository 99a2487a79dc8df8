"""The local ClickHouse server for integration tests: `cobranca db serve` (chDB served over HTTP)
for the whole session, on a free loopback port and a temporary data path, stopped by PID at the
end. Starting it costs a few seconds, so only tests that ask for it pay.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.clickhouse.server import LocalClickHouse
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.clickhouse_cli import DB_SERVE


def server_settings(data_dir: Path, port: int, **extra: str) -> Settings:
    """Settings for a local server under `data_dir`, whatever the developer's environment says."""
    return Settings.from_env(
        {
            "COBRANCA_DATA_DIR": str(data_dir),
            "CLICKHOUSE_URL": f"http://127.0.0.1:{port}",
            **extra,
        }
    )


@pytest.fixture(scope="session")
def clickhouse_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = server_settings(tmp_path_factory.mktemp("clickhouse"), free_port())
    server = LocalClickHouse.from_settings(settings)
    server.start(DB_SERVE, timeout=90)
    try:
        yield settings
    finally:
        server.stop()
