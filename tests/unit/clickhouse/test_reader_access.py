"""The read-only login: its settings, migration 0012's statements as the runner sends them to a
server that stores users (no password in them), and the local server's users.xml."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from connectors.clickhouse import InvalidReaderAccount, MigrationFailed, apply_migrations
from connectors.clickhouse.access import ReaderAccount
from connectors.clickhouse.server import LocalClickHouse
from streams.base.settings import Settings

PASSWORD = "s3cret-reader-password-42"


class FakeClient:
    """Answers what the runner asks; records every statement."""

    def __init__(self, manages_access: bool) -> None:
        self.commands: list[str] = []
        self.manages_access = manages_access

    def command(self, sql: str) -> Any:
        self.commands.append(sql)
        if sql.startswith("EXISTS TABLE"):
            return "0"
        if "system.user_directories" in sql:
            return "1" if self.manages_access else "0"
        return ""

    def insert(self, *args: Any, **kwargs: Any) -> None:
        pass


def access_statements(client: FakeClient) -> list[str]:
    return [
        " ".join(sql.split())
        for sql in client.commands
        if sql.lstrip().upper().startswith(("CREATE ROLE", "CREATE USER", "GRANT", "REVOKE"))
    ]


def test_the_reader_comes_from_the_environment_and_is_checked() -> None:
    assert ReaderAccount.from_env({}) is None
    reader = ReaderAccount.from_env({"CLICKHOUSE_READER_PASSWORD": PASSWORD})
    assert reader is not None and reader.user == "grafana"
    assert PASSWORD not in repr(reader)
    with pytest.raises(InvalidReaderAccount, match="CLICKHOUSE_READER_USER"):
        ReaderAccount("grafana; DROP", PASSWORD)
    with pytest.raises(InvalidReaderAccount, match="shorter than 12"):
        ReaderAccount("grafana", "short")


def test_a_server_that_stores_users_gets_the_role_select_only_and_the_hash() -> None:
    client = FakeClient(manages_access=True)
    apply_migrations(client, "cobranca", reader=ReaderAccount("grafana", PASSWORD))  # type: ignore[arg-type]
    digest = hashlib.sha256(PASSWORD.encode()).hexdigest()
    assert access_statements(client) == [
        "CREATE ROLE IF NOT EXISTS cobranca_reader",
        "GRANT SELECT ON cobranca.* TO cobranca_reader",
        f"CREATE USER IF NOT EXISTS grafana IDENTIFIED WITH sha256_hash BY '{digest}' "
        "DEFAULT DATABASE cobranca SETTINGS readonly = 2",
        "GRANT cobranca_reader TO grafana",
        # 0015: the debtor search's name piece hashes are not for analysts.
        "REVOKE SELECT(name_grams) ON cobranca.raw_clients FROM cobranca_reader",
        "REVOKE SELECT ON cobranca.debtor_search FROM cobranca_reader",
    ]
    assert not any(PASSWORD in sql for sql in client.commands)


def test_without_a_password_a_server_that_stores_users_refuses_to_create_the_login() -> None:
    client = FakeClient(manages_access=True)
    with pytest.raises(MigrationFailed, match="CLICKHOUSE_READER_PASSWORD"):
        apply_migrations(client, "cobranca", reader=None)  # type: ignore[arg-type]


def test_the_local_server_skips_access_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLICKHOUSE_READER_PASSWORD", raising=False)
    client = FakeClient(manages_access=False)
    applied = apply_migrations(client, "cobranca")  # type: ignore[arg-type]
    assert "0012_read_only_access" in applied
    assert access_statements(client) == []


def test_the_local_server_declares_the_reader_with_select_on_its_database(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        {"COBRANCA_DATA_DIR": str(tmp_path), "CLICKHOUSE_DATABASE": "analytics"}
    )
    env = {"CLICKHOUSE_READER_USER": "analyst", "CLICKHOUSE_READER_PASSWORD": PASSWORD}
    server = LocalClickHouse.from_settings(settings, env)
    users = ET.fromstring(server.users_xml())
    analyst = users.find("users/analyst")
    assert analyst is not None
    assert analyst.findtext("password_sha256_hex") == hashlib.sha256(PASSWORD.encode()).hexdigest()
    assert [q.text for q in analyst.findall("grants/query")] == [
        "GRANT SELECT ON analytics.*",
        "REVOKE SELECT(name_grams) ON analytics.raw_clients",
        "REVOKE SELECT ON analytics.debtor_search",
    ]
    assert analyst.findtext("profile") == "reader"
    assert users.findtext("profiles/reader/readonly") == "2"
    assert PASSWORD not in server.users_xml() and PASSWORD not in repr(server)
    # Without a password there is no reader, and `default` is clickhouse-local's own.
    bare = ET.fromstring(LocalClickHouse.from_settings(settings, {}).users_xml())
    assert [user.tag for user in bare.find("users") or []] == ["default"]
