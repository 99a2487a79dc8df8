"""`cobranca`'s global options from a shell: the version, the flags that beat the environment."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import version

from tests.cli import cobranca


def _cobranca(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cobranca(*args, env=env)


def test_version_is_the_installed_distributions_on_one_line() -> None:
    done = _cobranca("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"cobranca {version('cobranca')}\n"


def test_bootstrap_flag_wins_over_the_environment() -> None:
    # No broker listens on port 1: `broker status` says where it looked and exits 1.
    done = _cobranca(
        "--bootstrap", "127.0.0.1:1", "broker", "status", COBRANCA_KAFKA_BOOTSTRAP="127.0.0.1:2"
    )
    assert done.returncode == 1
    assert "broker not running at 127.0.0.1:1" in done.stdout
    assert "127.0.0.1:2" not in done.stdout


def test_without_the_flag_the_environment_decides() -> None:
    done = _cobranca("broker", "status", COBRANCA_KAFKA_BOOTSTRAP="127.0.0.1:2")
    assert "broker not running at 127.0.0.1:2" in done.stdout


def test_clickhouse_url_flag_wins_over_the_environment() -> None:
    done = _cobranca(
        "--clickhouse-url",
        "ftp://flag.invalid",
        "db",
        "status",
        CLICKHOUSE_URL="http://127.0.0.1:1",
    )
    assert done.returncode == 1
    assert "CLICKHOUSE_URL 'ftp://flag.invalid' has scheme 'ftp'" in done.stderr


def test_schemas_list_json_is_one_document_with_the_same_pins_as_the_text() -> None:
    from schemas.registry import load_registry

    text = _cobranca("schemas", "list")
    as_json = _cobranca("schemas", "list", "--json")
    assert text.returncode == as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    registry = load_registry()
    assert [entry["subject"] for entry in document] == list(registry.subjects())
    for entry in document:
        pins = ", ".join(f"v{v['version']}=id {v['schema_id']}" for v in entry["versions"])
        assert f"{entry['subject']}: {pins}" in text.stdout
        assert all(isinstance(v["schema_id"], int) for v in entry["versions"])


def test_broker_status_json_keeps_the_exit_code() -> None:
    done = _cobranca("--bootstrap", "127.0.0.1:1", "broker", "status", "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["running"] is False and document["pid"] is None
    assert document["bootstrap"] == "127.0.0.1:1"
    assert set(document) == {"running", "pid", "bootstrap", "data_dir", "log_file", "problem"}
    assert document["problem"] is None
    assert done.stderr == ""  # no progress, no log noise in a pipe
