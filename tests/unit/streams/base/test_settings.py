from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.base.errors import SettingsError
from streams.base.settings import Settings


def test_defaults_point_at_the_local_stack(tmp_path: Path, monkeypatch: object) -> None:
    settings = Settings.from_env({"COBRANCA_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.clickhouse_url == "http://127.0.0.1:18123"
    assert settings.clickhouse_database == "cobranca"
    assert settings.session_timeout_s == 10


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {
            "COBRANCA_KAFKA_BOOTSTRAP": "kafka:9092",
            "COBRANCA_DATA_DIR": "/var/lib/cobranca",
            "CLICKHOUSE_URL": "http://clickhouse:8123",
            "COBRANCA_TOPIC_PARTITIONS": "12",
            "COBRANCA_REPLICATION_FACTOR": "3",
        }
    )
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.chdb_path == Path("/var/lib/cobranca/chdb")
    assert settings.clickhouse_url == "http://clickhouse:8123"
    assert settings.topic_partitions == 12
    assert settings.replication_factor == 3


def test_the_simulated_clock_starts_at_an_instant_with_its_offset() -> None:
    settings = Settings.from_env({"COBRANCA_CLOCK_START": "2026-12-07T09:00:00-03:00"})
    assert settings.clock_start == datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert Settings.from_env({}).clock_start is None


@pytest.mark.parametrize(
    ("value", "says"), [("amanhã", "not an ISO-8601 instant"), ("2026-12-07T09:00", "no offset")]
)
def test_a_clock_start_that_cannot_be_used_names_the_variable(value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=rf"COBRANCA_CLOCK_START=.*{says}"):
        Settings.from_env({"COBRANCA_CLOCK_START": value})
