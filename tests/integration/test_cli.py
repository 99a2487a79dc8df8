"""The `cobranca` command from a shell, as the README promises it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _cobranca(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_topics_create_is_idempotent_and_list_shows_end_offsets(kafka_bootstrap: str) -> None:
    env = {"COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap}
    first = _cobranca("topics", "create", env=env)
    assert first.returncode == 0, first.stderr
    again = _cobranca("topics", "create", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 topics created" in again.stdout
    listing = _cobranca("topics", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    for name in ("cobranca.clients", "cobranca.ledger", "cobranca.dead-letters"):
        assert name in listing.stdout
    assert "missing" not in listing.stdout


def test_topics_without_a_broker_say_what_to_do() -> None:
    done = _cobranca("topics", "list", env={"COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert done.returncode == 1
    assert "cobranca broker start" in done.stderr
    assert "Traceback" not in done.stderr


def test_db_migrate_is_idempotent(tmp_path: Path) -> None:
    env = {"COBRANCA_CHDB_PATH": str(tmp_path / "chdb"), "CLICKHOUSE_URL": ""}
    first = _cobranca("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_raw_events" in first.stdout
    again = _cobranca("db", "migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    status = _cobranca("db", "status", env=env)
    assert "0002_events_per_tenant_day: applied" in status.stdout


def test_broker_status_exits_nonzero_when_stopped(tmp_path: Path) -> None:
    env = {"COBRANCA_DATA_DIR": str(tmp_path), "COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    done = _cobranca("broker", "status", env=env)
    assert done.returncode == 1
    assert "not running" in done.stdout
    assert str(tmp_path / "kafka" / "logs" / "server.log") in done.stdout
