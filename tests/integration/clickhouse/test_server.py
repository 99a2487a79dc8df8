"""`cobranca db serve`: chDB's engine serving ClickHouse's HTTP interface from its own process.

These pin the chdb-core behaviours server.py relies on (see its docstring and ADR 0005): if an
upgrade changes one, a test here fails, not the sink in production.
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import chdb
import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import ClickHouseUnavailable, LocalServerError, connect
from connectors.clickhouse.server import KEEP_ALIVE_TIMEOUT_S, LocalClickHouse
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.clickhouse_cli import DB_SERVE
from tests.integration.conftest import server_settings

pytestmark = pytest.mark.integration


def test_the_pinned_engine_is_the_one_installed() -> None:
    assert chdb.__version__ == "26.9.0"
    assert chdb.engine_version.startswith("26.9.")


def test_it_speaks_clickhouse_http(client: Client, clickhouse_settings: Settings) -> None:
    assert str(client.server_version).startswith("26.9.")
    assert client.command("SELECT 1") == 1
    # A request naming no format is answered in TabSeparated, as clickhouse-server does.
    url = f"{clickhouse_settings.clickhouse_url}/?query=SELECT%201%2C%20%27a%27"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"1\ta\n"
    with urllib.request.urlopen(f"{clickhouse_settings.clickhouse_url}/ping", timeout=10) as ping:
        assert ping.read() == b"Ok.\n"


def test_it_serves_only_loopback(clickhouse_settings: Settings) -> None:
    server = LocalClickHouse.from_settings(clickhouse_settings)
    assert "<listen_host>127.0.0.1</listen_host>" in server.config_file.read_text()
    remote = Settings.from_env({"CLICKHOUSE_URL": "http://clickhouse:8123"})
    with pytest.raises(LocalServerError, match="loopback only"):
        LocalClickHouse.from_settings(remote)


def test_a_second_server_on_the_same_path_is_refused_with_the_owner_pid(
    clickhouse_settings: Settings, tmp_path: Path
) -> None:
    running = LocalClickHouse.from_settings(clickhouse_settings)
    other = LocalClickHouse(
        data_path=running.data_path, home=tmp_path / "clickhouse", port=free_port()
    )
    with pytest.raises(LocalServerError) as caught:
        other.start(DB_SERVE, timeout=30)
    message = str(caught.value)
    assert f"process {running.pid()} holds the chDB data path {running.data_path}" in message
    assert "one process per path" in message


def test_a_busy_port_is_refused(clickhouse_settings: Settings, tmp_path: Path) -> None:
    busy = LocalClickHouse.from_settings(clickhouse_settings).port
    other = LocalClickHouse(data_path=tmp_path / "chdb", home=tmp_path / "clickhouse", port=busy)
    with pytest.raises(LocalServerError, match="something else already listens"):
        other.start(DB_SERVE, timeout=30)


def test_stop_by_pid_is_clean_and_data_and_dedup_survive_a_restart(tmp_path: Path) -> None:
    settings = server_settings(tmp_path, free_port())
    server = LocalClickHouse.from_settings(settings)
    status = server.start(DB_SERVE, timeout=90)
    assert status.running and status.pid is not None
    token = {"insert_deduplication_token": "batch-1"}
    try:
        with connect(settings) as client:
            client.command("CREATE DATABASE d")
            client.command(
                "CREATE TABLE d.t (x UInt8) ENGINE = MergeTree ORDER BY x "
                "SETTINGS non_replicated_deduplication_window = 10"
            )
            client.insert("t", [[1], [2]], column_names=["x"], database="d", settings=token)
            # An idle keep-alive connection stays open while the server stops.
            began = time.monotonic()
            assert server.stop()
            assert time.monotonic() - began < KEEP_ALIVE_TIMEOUT_S + 8
        assert server.pid() is None and not server.answers()
        # A clean shutdown removes the engine's status file (a forced exit would leave it).
        assert not (server.data_path / "status").exists()
        assert not server.pid_file.exists()

        server.start(DB_SERVE, timeout=90)
        with connect(settings) as client:
            client.insert("t", [[1], [2]], column_names=["x"], database="d", settings=token)
            assert client.command("SELECT count() FROM d.t") == 2
    finally:
        server.stop()
    assert server.stop() is False


def test_nothing_listening_is_reported_with_the_fix_and_without_the_password() -> None:
    port = free_port()
    settings = Settings.from_env({"CLICKHOUSE_URL": f"http://ana:hunter2@127.0.0.1:{port}"})
    with pytest.raises(ClickHouseUnavailable) as caught:
        connect(settings)
    message = str(caught.value)
    assert message.startswith(
        f"cannot use the ClickHouse server at http://ana:***@127.0.0.1:{port}"
    )
    assert "CLICKHOUSE_URL" in message and "cobranca db start" in message
    assert "hunter2" not in message
    assert caught.value.target == f"http://ana:***@127.0.0.1:{port}"


def test_the_server_process_is_the_one_in_the_pid_file(clickhouse_settings: Settings) -> None:
    server = LocalClickHouse.from_settings(clickhouse_settings)
    pid = server.pid()
    assert pid is not None and pid != os.getpid()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\x00")
    assert cmdline[-3:-1] == [b"db", b"serve"]
