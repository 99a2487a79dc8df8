"""The read-only login for Grafana and analysts (ADR 0020).

One user, `CLICKHOUSE_READER_USER` (default `grafana`) with the password
`CLICKHOUSE_READER_PASSWORD`, may SELECT from the project's database and do nothing else. Two
servers, two ways, one result:

- **clickhouse-server** (docker-compose): migration 0012 creates the role `<database>_reader`
  (SELECT on `<database>.*`) and the user with that role, from the configuration: the migration
  file holds placeholders (`{reader_user}`, `{reader_password_sha256}`) that the runner fills
  in; only the password's SHA-256 ever reaches ClickHouse, never the password itself, and
  nothing of it is in the repository or the logs.
- **the local server** (`cobranca db serve`, chDB's clickhouse-local): it has no writable access
  storage (`CREATE ROLE` fails with ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND), so the migration's
  access statements are skipped there, and the server declares the same user in the users.xml
  it writes at start (`LocalClickHouse.users_xml`), with the same grant.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from clickhouse_connect.driver.client import Client

from connectors.clickhouse.errors import InvalidReaderAccount

__all__ = [
    "ACCESS_STATEMENT",
    "DEFAULT_READER_USER",
    "ReaderAccount",
    "manages_access",
]

DEFAULT_READER_USER: Final = "grafana"
ACCESS_STATEMENT: Final = re.compile(
    r"^\s*(?:(?:CREATE|ALTER|DROP)\s+(?:ROLE|USER)|GRANT|REVOKE)\b", re.IGNORECASE
)
"""Statements about users, roles and grants, which only a server with a writable access
storage runs."""
_USER_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class ReaderAccount:
    """The read-only login: a user name and its password (never printed)."""

    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _USER_NAME.fullmatch(self.user):
            raise InvalidReaderAccount(
                f"CLICKHOUSE_READER_USER {self.user!r} is not a plain identifier (letters, "
                "digits and _, at most 64 characters)"
            )
        if len(self.password) < 12:
            raise InvalidReaderAccount(
                "CLICKHOUSE_READER_PASSWORD is shorter than 12 characters; generate one with "
                '`python3 -c "import secrets; print(secrets.token_urlsafe(32))"`'
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReaderAccount | None:
        """CLICKHOUSE_READER_USER / CLICKHOUSE_READER_PASSWORD; None without a password."""
        environ = os.environ if env is None else env
        password = environ.get("CLICKHOUSE_READER_PASSWORD", "")
        if not password:
            return None
        user = environ.get("CLICKHOUSE_READER_USER", "") or DEFAULT_READER_USER
        return cls(user, password)

    @property
    def password_sha256(self) -> str:
        """SHA-256 of the password, hex: what ClickHouse stores and what travels to it."""
        return hashlib.sha256(self.password.encode("utf-8")).hexdigest()

    def placeholders(self) -> dict[str, str]:
        """What migration files may name: `{reader_user}`, `{reader_password_sha256}`."""
        return {"{reader_user}": self.user, "{reader_password_sha256}": self.password_sha256}


def manages_access(client: Client) -> bool:
    """Whether the server can store users and roles created by SQL (a `local_directory` or
    replicated access storage); clickhouse-local serves users from XML only."""
    count = client.command(
        "SELECT count() FROM system.user_directories WHERE type NOT IN ('users_xml', 'ldap')"
    )
    return int(str(count).strip() or 0) > 0
