from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import ClickHouseUnavailable, connect
from streams.settings import Settings
from tests.integration.clickhouse.conftest import chdb_settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (its own chDB engine) with the repo importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CLICKHOUSE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        check=False,
    )


def last_json_line(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_second_process_on_the_same_path_gets_a_clear_error(
    client: Client, chdb_path: Path
) -> None:
    assert client.command("SELECT 1") == 1  # this process holds the path
    result = run_python(
        f"""
        import json
        from connectors.clickhouse import ClickHouseUnavailable, connect
        from streams.settings import Settings
        try:
            connect(Settings.from_env({{"COBRANCA_CHDB_PATH": {str(chdb_path)!r}}}))
        except ClickHouseUnavailable as exc:
            print(json.dumps({{"message": str(exc), "target": exc.target}}))
        """
    )
    outcome = last_json_line(result)
    assert isinstance(outcome, dict)
    assert outcome["target"] == str(chdb_path)
    message = outcome["message"]
    assert message.startswith(f"cannot open chDB at {chdb_path}: process {os.getpid()} holds")
    assert "one process per data path" in message
    assert "COBRANCA_CHDB_PATH" in message


def test_another_path_in_this_process_gets_a_clear_error(
    client: Client, chdb_path: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    with pytest.raises(ClickHouseUnavailable) as caught:
        connect(chdb_settings(other))
    assert caught.value.target == str(other)
    assert str(caught.value).startswith(
        f"cannot open chDB at {other}: this process already runs the embedded engine on "
        f"{os.path.realpath(chdb_path)}"
    )
    assert client.command("SELECT 1") == 1  # the open engine is unharmed


def test_a_second_client_on_the_same_path_shares_the_engine(
    client: Client, chdb_path: Path
) -> None:
    client.command("CREATE DATABASE IF NOT EXISTS shared")
    client.command("CREATE TABLE IF NOT EXISTS shared.t (x UInt8) ENGINE = MergeTree ORDER BY x")
    client.insert("t", [[1], [2]], column_names=["x"], database="shared")
    with connect(chdb_settings(chdb_path)) as second:
        assert second.command("SELECT count() FROM shared.t") == 2


def test_data_and_dedup_persist_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "persisted"
    code = f"""
        import json
        from connectors.clickhouse import apply_migrations, connect, deduplicated_insert_settings
        from streams.settings import Settings
        from tests.integration.clickhouse.rows import RAW_EVENT_COLUMNS, raw_event

        with connect(Settings.from_env({{"COBRANCA_CHDB_PATH": {str(path)!r}}})) as client:
            applied = apply_migrations(client, "cobranca")
            client.insert(
                "raw_events",
                [raw_event(offset) for offset in range(5)],
                column_names=RAW_EVENT_COLUMNS,
                database="cobranca",
                settings=deduplicated_insert_settings("cobranca.sends[0]@0-4"),
            )
            rows = client.command("SELECT count() FROM cobranca.raw_events")
            counted = client.command("SELECT sum(events) FROM cobranca.events_per_tenant_day")
        print(json.dumps({{"applied": applied, "rows": rows, "counted": counted}}))
        """
    first = last_json_line(run_python(code))
    second = last_json_line(run_python(code))  # a restarted sink re-sends its last batch
    assert first == {
        "applied": ["0001_raw_events", "0002_events_per_tenant_day"],
        "rows": 5,
        "counted": 5,
    }
    assert second == {"applied": [], "rows": 5, "counted": 5}
    assert not (path / "status").exists()  # a clean close releases the path


def test_a_path_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ClickHouseUnavailable, match="cannot create the chDB data directory"):
        connect(chdb_settings(blocker / "chdb"))


def test_an_unreachable_server_is_reported_without_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings.from_env({"CLICKHOUSE_URL": f"http://ana:hunter2@127.0.0.1:{port}"})
    with pytest.raises(ClickHouseUnavailable) as caught:
        connect(settings)
    message = str(caught.value)
    assert message.startswith(
        f"cannot use the ClickHouse server at http://ana:***@127.0.0.1:{port}"
    )
    assert "CLICKHOUSE_URL" in message
    assert "hunter2" not in message
    assert caught.value.target == f"http://ana:***@127.0.0.1:{port}"
