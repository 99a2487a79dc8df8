"""Open a clickhouse-connect client to the ClickHouse HTTP interface at CLICKHOUSE_URL.

Everything (the sink, the CLI, tests, analysts) reaches ClickHouse the same way: over HTTP. The
default URL, http://127.0.0.1:18123, is the local server `cobranca db serve` runs on the chDB
data path (see `server.py`); production points CLICKHOUSE_URL at a clickhouse-server. The user
and password come from the URL (`http://user:secret@host:8123`) or, when the URL has none, from
`CLICKHOUSE_USER` and `CLICKHOUSE_PASSWORD`.

The client returns timezone-aware `datetime`s for `DateTime64(3, 'UTC')` columns
(`tz_mode="aware"`). It is not bound to a database (the database may not exist before the
migrations run): qualify table names (`cobranca.raw_ledger`) or pass `database=` to `insert`.
It keeps no server session, so one client can run queries from several threads at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.errors import ClickHouseUnavailable, InvalidClickHouseUrl
from streams.base.settings import LOCAL_CLICKHOUSE_URL, Settings

__all__ = ["HttpTarget", "connect", "deduplicated_insert_settings", "parse_clickhouse_url"]

_DEFAULT_PORTS = {"http": 8123, "https": 8443}
_HTTP_CONNECT_TIMEOUT_S = 10
_FIX_HTTP = (
    "Start that server or fix CLICKHOUSE_URL (and CLICKHOUSE_USER / CLICKHOUSE_PASSWORD); "
    "unset CLICKHOUSE_URL to use the local one (`cobranca db start`)."
)
_FIX_LOCAL = (
    "Start the local ClickHouse with `cobranca db start` (or `cobranca db serve` in a "
    "terminal of its own), or set CLICKHOUSE_URL to a ClickHouse server."
)


@dataclass(frozen=True, slots=True)
class HttpTarget:
    """Where and as whom to reach a ClickHouse server over HTTP, parsed from CLICKHOUSE_URL."""

    scheme: str
    """`http` or `https`."""
    host: str
    port: int
    username: str
    password: str = field(repr=False)

    @property
    def display_url(self) -> str:
        """The URL for messages and logs: user shown, password masked."""
        secret = ":***" if self.password else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{self.username}{secret}@{host}:{self.port}"


def parse_clickhouse_url(url: str, env: Mapping[str, str] | None = None) -> HttpTarget:
    """Parse CLICKHOUSE_URL; credentials missing from the URL come from CLICKHOUSE_USER/PASSWORD.

    The URL names a server only: `http(s)://[user[:password]@]host[:port]`, percent-encoded
    credentials allowed. The database comes from CLICKHOUSE_DATABASE, not from the URL path.
    """
    environ = os.environ if env is None else env
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidClickHouseUrl(
            f"CLICKHOUSE_URL {_redact(url)!r} is not a valid URL ({exc}); "
            "expected http(s)://[user[:password]@]host[:port]"
        ) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidClickHouseUrl(
            f"CLICKHOUSE_URL {_redact(url)!r} has scheme {parts.scheme!r}; the connector speaks "
            "ClickHouse's HTTP interface only: use http:// (port 8123) or https:// (port 8443)"
        )
    if not parts.hostname:
        raise InvalidClickHouseUrl(
            f"CLICKHOUSE_URL {_redact(url)!r} has no host; expected http(s)://host[:port]"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidClickHouseUrl(
            f"CLICKHOUSE_URL {_redact(url)!r} has a path, query or fragment; give only "
            "http(s)://[user[:password]@]host[:port] and set the database in CLICKHOUSE_DATABASE"
        )
    username = unquote(parts.username) if parts.username else ""
    password = unquote(parts.password) if parts.password else ""
    if not username:
        username = environ.get("CLICKHOUSE_USER", "") or "default"
    if not password:
        password = environ.get("CLICKHOUSE_PASSWORD", "")
    return HttpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        username=username,
        password=password,
    )


def deduplicated_insert_settings(token: str) -> dict[str, str]:
    """Per-insert settings that make a retried batch a no-op in a table and in its views.

    Pass as `client.insert(..., settings=deduplicated_insert_settings(token))`, with a token that
    names the batch deterministically (e.g. `cobranca.sends[3]@1200-1699`). Since ClickHouse 24.7
    a block dropped as a duplicate by the table is still pushed through its materialized views;
    each view's target table drops it only when `deduplicate_blocks_in_dependent_materialized_views`
    is on and the target keeps a deduplication log (`non_replicated_deduplication_window` in its
    DDL, see migration 0002). The setting is on by default in the engine chDB 26.9 ships; it is set
    here so the guarantee does not rest on a server's defaults.
    """
    if not token:
        raise ValueError("a deduplication token must not be empty")
    return {
        "insert_deduplicate": "1",
        "insert_deduplication_token": token,
        "deduplicate_blocks_in_dependent_materialized_views": "1",
    }


def connect(settings: Settings) -> Client:
    """Open a client to the ClickHouse at `settings.clickhouse_url` and check that it answers.

    Raises `ClickHouseUnavailable` (naming the URL and the fix) when nothing answers, and
    `InvalidClickHouseUrl` when CLICKHOUSE_URL cannot be parsed.
    """
    target = parse_clickhouse_url(settings.clickhouse_url)
    try:
        return clickhouse_connect.get_client(
            interface=target.scheme,
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            connect_timeout=_HTTP_CONNECT_TIMEOUT_S,
            # No server session: a session serialises queries, and the sink and the CLI run
            # queries concurrently on one client. Nothing here relies on SET or temporary tables.
            autogenerate_session_id=False,
            tz_mode="aware",
        )
    except DriverError as exc:
        local = settings.clickhouse_url == LOCAL_CLICKHOUSE_URL
        fix = _FIX_LOCAL if local else _FIX_HTTP
        raise ClickHouseUnavailable(
            f"cannot use the ClickHouse server at {target.display_url}: {_first_line(exc)}. {fix}",
            target=target.display_url,
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _redact(url: str) -> str:
    """`url` with any password replaced by `***`, for error messages."""
    return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", url)
