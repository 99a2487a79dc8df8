"""Open a clickhouse-connect client: a ClickHouse server over HTTP, or chDB embedded in-process.

`connect(settings)` picks the target from `Settings`:

- `CLICKHOUSE_URL` set: an HTTP(S) client to that server. The user and password come from the URL
  (`http://user:secret@host:8123`) or, when the URL has none, from `CLICKHOUSE_USER` and
  `CLICKHOUSE_PASSWORD`.
- unset: chDB (the ClickHouse engine as a library, package `chdb-core`) through clickhouse-connect's
  `interface="chdb"` backend, with its data on disk at `COBRANCA_CHDB_PATH`. Same SQL, same client
  API, no server.

Both clients return timezone-aware `datetime`s for `DateTime64(3, 'UTC')` columns
(`tz_mode="aware"`), so code reading the tables behaves the same on both paths. The client is not
bound to a database (the database may not exist before the migrations run): qualify table names
(`cobranca.raw_events`) or pass `database=` to `insert`.

chDB quirks worth knowing (measured with chdb-core 26.9, clickhouse-connect 1.12):

- One process per data path. The engine takes an exclusive `flock` on `<path>/status`; a second
  process fails to open the path. `connect` detects that and says which path and which PID.
- One data path per process. Every client in a process shares the one engine; opening a different
  path while any client is open fails until they are all closed. Close clients (`client.close()`,
  or use the client as a context manager) before switching paths.
- Data persists on disk across processes; the `status` file is removed on a clean close.
- Per-call `settings=` work (they ride as a `SETTINGS` clause or a `SET`/restore pair), including
  `insert_deduplication_token` on inserts; see `deduplicated_insert_settings`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.errors import ClickHouseUnavailable, InvalidClickHouseUrl
from streams.settings import Settings

__all__ = ["HttpTarget", "connect", "deduplicated_insert_settings", "parse_clickhouse_url"]

_DEFAULT_PORTS = {"http": 8123, "https": 8443}
_HTTP_CONNECT_TIMEOUT_S = 10
_OTHER_PATH_RE = re.compile(r"already initialized with path '([^']*)'")
_FIX_HTTP = (
    "Start the server or fix CLICKHOUSE_URL (and CLICKHOUSE_USER / CLICKHOUSE_PASSWORD); "
    "unset CLICKHOUSE_URL to use embedded chDB at COBRANCA_CHDB_PATH instead."
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
    """Open a client to the server at `settings.clickhouse_url`, or to chDB at `settings.chdb_path`.

    Raises `ClickHouseUnavailable` (naming the URL or the path, and the fix) when the target cannot
    be opened, and `InvalidClickHouseUrl` when CLICKHOUSE_URL cannot be parsed.
    """
    if settings.clickhouse_url:
        return _connect_http(parse_clickhouse_url(settings.clickhouse_url))
    return _connect_chdb(settings.chdb_path)


def _connect_http(target: HttpTarget) -> Client:
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
        raise ClickHouseUnavailable(
            f"cannot use the ClickHouse server at {target.display_url}: {_first_line(exc)}. "
            f"{_FIX_HTTP}",
            target=target.display_url,
        ) from exc


def _connect_chdb(path: Path) -> Client:
    target = str(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClickHouseUnavailable(
            f"cannot create the chDB data directory {target}: {exc.strerror}. "
            "Set COBRANCA_CHDB_PATH to a writable directory.",
            target=target,
        ) from exc
    try:
        return clickhouse_connect.get_client(interface="chdb", path=target, tz_mode="aware")
    except DriverError as exc:
        raise ClickHouseUnavailable(_explain_chdb_failure(path, exc), target=target) from exc


def _explain_chdb_failure(path: Path, exc: DriverError) -> str:
    detail = _first_line(exc)
    other = _OTHER_PATH_RE.search(str(exc))
    if other is not None:
        return (
            f"cannot open chDB at {path}: this process already runs the embedded engine on "
            f"{other.group(1)}, and chDB hosts one data path per process. Close every client on "
            f"{other.group(1)} first, or use the same COBRANCA_CHDB_PATH everywhere in the process."
        )
    if _status_file_locked(path):
        pid = _status_file_pid(path)
        holder = f"process {pid}" if pid is not None else "another process"
        return (
            f"cannot open chDB at {path}: {holder} holds the lock on {path / 'status'}, and chDB "
            "allows one process per data path. Stop that process, point COBRANCA_CHDB_PATH at "
            "another directory, or share one ClickHouse server through CLICKHOUSE_URL."
        )
    return (
        f"cannot open chDB at {path}: {detail}. Check that the directory holds chDB data of a "
        "compatible version, or point COBRANCA_CHDB_PATH at a fresh directory."
    )


def _status_file_locked(path: Path) -> bool:
    """True when another process holds the engine's exclusive flock on `<path>/status`."""
    try:
        fd = os.open(path / "status", os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            return exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _status_file_pid(path: Path) -> int | None:
    """The PID the engine wrote into `<path>/status` (a `PID: 1234` line), if readable."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for line in (path / "status").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "PID" and value.strip().isdigit():
                return int(value.strip())
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _redact(url: str) -> str:
    """`url` with any password replaced by `***`, for error messages."""
    return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", url)
