"""`cobranca db serve`: one process owns the chDB data path and serves ClickHouse's HTTP interface.

chDB lets one process open a data path. So that the sink, the CLI, the tests and analysts can
all use ClickHouse at once, the local default is one server process per path, and everyone else
talks to it over HTTP with clickhouse-connect, exactly as to a real ClickHouse server.

How the engine serves HTTP (chdb-core 26.9, pinned in pyproject.toml and checked by
tests/integration/clickhouse/test_server.py): chDB's public API (`chdb.connect`) runs an
embedded engine without listeners (`SYSTEM START LISTEN` fails there with "start_servers_callback
is not set"). Its private module function `chdb._chdb.query(sql, format, path=...)` runs the full
`clickhouse-local` application instead, which reads `config.xml` from the working directory and
implements `SYSTEM START LISTEN HTTP`: ClickHouse's own HTTP handler (the same code as
clickhouse-server's port 8123), served by the engine's threads for as long as that query runs.
So the server process:

1. writes `config.xml` (http_port, listen_host, keep-alive, logger) into its home directory and
   makes that the working directory;
2. runs `SYSTEM START LISTEN HTTP; SELECT ... FROM file('<home>/stop.fifo')` in a thread: the
   second statement blocks, without using CPU, on a named pipe nobody writes to;
3. on SIGTERM or SIGINT writes a line into the pipe; the query returns and clickhouse-local shuts
   down cleanly (it waits for open HTTP connections up to `shutdown_wait_unfinished` seconds,
   which is longer than `keep_alive_timeout`, so idle keep-alive clients never force the
   engine's hard `_exit`), releases the data path and the process exits 0.

Users: `users.xml`, written next to `config.xml`: the `default` user without a password, as
clickhouse-local's built-in one, and, when CLICKHOUSE_READER_PASSWORD is set, the read-only
login for Grafana and analysts (CLICKHOUSE_READER_USER, default `grafana`): the password's
SHA-256, loopback only, SELECT on CLICKHOUSE_DATABASE's tables and views and nothing else
(ADR 0020; clickhouse-local cannot store users made by SQL, so migration 0012's access
statements are skipped here). The listener binds loopback only (`listen_host` 127.0.0.1), so
only local processes reach it; anything beyond one machine uses a real ClickHouse server
through CLICKHOUSE_URL (docker-compose.yml).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from xml.sax.saxutils import escape

from connectors.clickhouse.access import ReaderAccount
from connectors.clickhouse.client import parse_clickhouse_url
from connectors.clickhouse.errors import LocalServerError
from connectors.clickhouse.migrations import validate_database_name
from streams.base.settings import Settings

__all__ = ["LOOPBACK_HOSTS", "LocalClickHouse", "ServerStatus"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
KEEP_ALIVE_TIMEOUT_S = 3
"""Idle HTTP connections close after this long; a stop waits at most about as long for them."""
_SHUTDOWN_WAIT_S = 15
_READY_POLL_S = 0.05


_SCHEMA_URL = r"^/(?P<db>[A-Za-z_][A-Za-z0-9_]*)/schemas/ids/(?P<id>[0-9]+)$"
_SCHEMA_QUERY = (
    "SELECT schema FROM {db:Identifier}.avro_schemas WHERE id = {id:UInt32} "
    "LIMIT 1 FORMAT JSONEachRow"
)
"""Confluent's `GET /schemas/ids/<id>` (answer `{"schema": "..."}`), per database."""


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """What `cobranca db status` and `db start` report about the local server."""

    running: bool
    pid: int | None
    url: str
    data_path: Path
    log_file: Path


@dataclass(frozen=True, slots=True)
class LocalClickHouse:
    """The local ClickHouse: a chDB data path, the server's own directory, where it listens."""

    data_path: Path
    """chDB's data (COBRANCA_CHDB_PATH): tables, parts, metadata."""
    home: Path
    """The server's directory (`<COBRANCA_DATA_DIR>/clickhouse`): config.xml, the stop pipe,
    the PID file, logs."""
    host: str = "127.0.0.1"
    port: int = 18123
    database: str = "cobranca"
    """The database the read-only login may read (CLICKHOUSE_DATABASE)."""
    reader: ReaderAccount | None = None
    """The read-only login (CLICKHOUSE_READER_USER / CLICKHOUSE_READER_PASSWORD), if any."""

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str] | None = None
    ) -> LocalClickHouse:
        """The server `settings.clickhouse_url` points at, which must be a loopback http URL;
        its read-only login from `env` (default: the environment)."""
        target = parse_clickhouse_url(settings.clickhouse_url)
        if target.scheme != "http" or target.host not in LOOPBACK_HOSTS:
            raise LocalServerError(
                f"the local ClickHouse serves plain http on loopback only, but CLICKHOUSE_URL is "
                f"{target.display_url}; unset it (default http://127.0.0.1:18123) or point it at "
                "http://127.0.0.1:<port>, or use that server without `cobranca db serve`"
            )
        return cls(
            data_path=settings.chdb_path,
            home=settings.data_dir / "clickhouse",
            host="127.0.0.1",
            port=target.port,
            database=settings.clickhouse_database,
            reader=ReaderAccount.from_env(env),
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "server.pid"

    @property
    def config_file(self) -> Path:
        return self.home / "config.xml"

    @property
    def users_file(self) -> Path:
        return self.home / "users.xml"

    @property
    def stop_pipe(self) -> Path:
        return self.home / "stop.fifo"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "clickhouse.log"

    @property
    def stdout_log(self) -> Path:
        return self.home / "logs" / "stdout.log"

    # -- state ------------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The PID of our running server, or None (a stale PID file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _is_our_server(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def answers(self) -> bool:
        """Whether a ClickHouse answers `/ping` at this server's URL (ours or another)."""
        return _pings(self.url)

    def status(self) -> ServerStatus:
        pid = self.pid()
        return ServerStatus(
            running=pid is not None and _pings(self.url),
            pid=pid,
            url=self.url,
            data_path=self.data_path,
            log_file=self.log_file,
        )

    # -- foreground ---------------------------------------------------------------------------

    def serve(self, *, on_ready: Callable[[LocalClickHouse], None] | None = None) -> None:
        """Serve until SIGTERM or SIGINT, in this process (the CLI's `db serve`).

        Changes the working directory to `home` (clickhouse-local reads config.xml from there)
        and installs handlers for SIGTERM and SIGINT: call it as the process's main job.
        """
        self._check_free()
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._config_xml(), encoding="utf-8")
        self.users_file.unlink(missing_ok=True)
        fd = os.open(self.users_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as users:
            users.write(self.users_xml())
        self.stop_pipe.unlink(missing_ok=True)
        os.mkfifo(self.stop_pipe, 0o600)

        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        os.chdir(self.home)
        engine = _EngineThread(self.data_path, self.stop_pipe)
        engine.start()
        try:
            self._wait_listening(engine)
            self.pid_file.write_text(str(os.getpid()))
            if on_ready is not None:
                on_ready(self)
            while not stop.wait(0.5):
                if not engine.is_alive():
                    raise LocalServerError(
                        f"the ClickHouse engine stopped serving {self.url} on its own: "
                        f"{engine.error or 'no error reported'}; see {self.log_file}"
                    )
        finally:
            self.pid_file.unlink(missing_ok=True)
            engine.stop(timeout=_SHUTDOWN_WAIT_S + 5)
            self.stop_pipe.unlink(missing_ok=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _check_free(self) -> None:
        if self.pid() is not None:
            raise LocalServerError(
                f"the local ClickHouse already runs (pid {self.pid()}) at {self.url}; "
                "stop it with `cobranca db stop`"
            )
        if _answers(self.host, self.port):
            raise LocalServerError(
                f"something else already listens on {self.host}:{self.port}; stop it or "
                "choose another port with CLICKHOUSE_URL=http://127.0.0.1:<port>"
            )
        holder = _lock_holder(self.data_path)
        if holder is not None:
            who = f"process {holder}" if holder > 0 else "another process"
            raise LocalServerError(
                f"{who} holds the chDB data path {self.data_path} (the lock on "
                f"{self.data_path / 'status'}), and chDB allows one process per path; stop that "
                "process or point COBRANCA_CHDB_PATH at another directory"
            )

    def _wait_listening(self, engine: _EngineThread) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not engine.is_alive():
                raise LocalServerError(
                    f"the ClickHouse engine did not start serving {self.url}: "
                    f"{engine.error or 'it exited without an error'}; see {self.log_file}"
                )
            if _pings(self.url):
                return
            time.sleep(_READY_POLL_S)
        raise LocalServerError(f"the ClickHouse engine did not answer on {self.url} within 60 s")

    def _config_xml(self) -> str:
        # http_handlers: ClickHouse serves the schema registry its own AvroConfluent inserts
        # read (raw_tables.py, migration 0011); <defaults/> keeps every standard handler.
        log = escape(str(self.log_file))
        err = escape(str(self.log_file.with_name("clickhouse.err.log")))
        # `log-level` is what clickhouse-local reads for the level; `logger.level` alone is
        # overridden by its default (trace), which would log every query.
        return (
            "<clickhouse>\n"
            f"  <listen_host>{self.host}</listen_host>\n"
            f"  <http_port>{self.port}</http_port>\n"
            f"  <keep_alive_timeout>{KEEP_ALIVE_TIMEOUT_S}</keep_alive_timeout>\n"
            f"  <shutdown_wait_unfinished>{_SHUTDOWN_WAIT_S}</shutdown_wait_unfinished>\n"
            "  <log-level>warning</log-level>\n"
            "  <logger>\n"
            "    <level>warning</level>\n"
            f"    <log>{log}</log>\n"
            f"    <errorlog>{err}</errorlog>\n"
            "    <console>0</console>\n"
            "  </logger>\n"
            "  <user_directories>\n"
            f"    <users_xml><path>{escape(str(self.users_file))}</path></users_xml>\n"
            "  </user_directories>\n"
            "  <http_handlers>\n"
            "    <rule>\n"
            f"      <url><![CDATA[regex:{_SCHEMA_URL}]]></url>\n"
            "      <methods>GET</methods>\n"
            "      <handler>\n"
            "        <type>predefined_query_handler</type>\n"
            f"        <query>{_SCHEMA_QUERY}</query>\n"
            "      </handler>\n"
            "    </rule>\n"
            "    <defaults/>\n"
            "  </http_handlers>\n"
            "</clickhouse>\n"
        )

    def users_xml(self) -> str:
        """The users clickhouse-local serves: `default` as its built-in one (no password), and
        the read-only login, if configured (its password's SHA-256 only)."""
        reader = ""
        if self.reader is not None:
            validate_database_name(self.database)
            # Grants as migrations 0012 and 0015 give the role on clickhouse-server: SELECT on the
            # database, nothing else. readonly=2 also refuses writes, yet lets clients set
            # query settings (Grafana's plugin does).
            reader = (
                f"    <{self.reader.user}>\n"
                f"      <password_sha256_hex>{self.reader.password_sha256}</password_sha256_hex>\n"
                "      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
                "      <profile>reader</profile>\n"
                "      <quota>default</quota>\n"
                f"      <default_database>{self.database}</default_database>\n"
                "      <grants>\n"
                f"        <query>GRANT SELECT ON {self.database}.*</query>\n"
                # 0015: the debtor search's name piece hashes are not for analysts.
                f"        <query>REVOKE SELECT(name_grams) ON {self.database}.raw_clients</query>\n"
                f"        <query>REVOKE SELECT ON {self.database}.debtor_search</query>\n"
                "      </grants>\n"
                f"    </{self.reader.user}>\n"
            )
        return (
            "<clickhouse>\n"
            "  <profiles>\n"
            "    <default/>\n"
            "    <reader><readonly>2</readonly></reader>\n"
            "  </profiles>\n"
            "  <users>\n"
            "    <default>\n"
            "      <password></password>\n"
            "      <networks><ip>::/0</ip></networks>\n"
            "      <profile>default</profile>\n"
            "      <quota>default</quota>\n"
            "      <named_collection_control>1</named_collection_control>\n"
            "    </default>\n"
            f"{reader}"
            "  </users>\n"
            "  <quotas><default/></quotas>\n"
            "</clickhouse>\n"
        )

    # -- background ---------------------------------------------------------------------------

    def start(self, command: Sequence[str], timeout: float = 60.0) -> ServerStatus:
        """Start `command` in a session of its own unless the server runs; wait for it.

        `command` is `cobranca db serve`: a process whose main job is `serve`, on this server as
        rebuilt from the settings of its environment (which this method sets)."""
        if self.pid() is None:
            self._check_free()
            self.stdout_log.parent.mkdir(parents=True, exist_ok=True)
            # The child rebuilds this server from its settings: hand them over explicitly.
            env = {
                **os.environ,
                "CLICKHOUSE_URL": self.url,
                "COBRANCA_CHDB_PATH": str(self.data_path),
                "COBRANCA_DATA_DIR": str(self.home.parent),
                "CLICKHOUSE_DATABASE": self.database,
            }
            env.pop("CLICKHOUSE_READER_PASSWORD", None)
            if self.reader is not None:
                env["CLICKHOUSE_READER_USER"] = self.reader.user
                env["CLICKHOUSE_READER_PASSWORD"] = self.reader.password
            with self.stdout_log.open("ab") as out:
                proc = subprocess.Popen(
                    list(command),
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            deadline = time.monotonic() + timeout
            while not (self.pid() == proc.pid and _pings(self.url)):
                if proc.poll() is not None:
                    raise LocalServerError(
                        f"`cobranca db serve` exited with {proc.returncode} during start-up: "
                        f"{_tail(self.stdout_log)}"
                    )
                if time.monotonic() > deadline:
                    proc.terminate()
                    raise LocalServerError(
                        f"the local ClickHouse did not answer on {self.url} within {timeout:.0f}s;"
                        f" see {self.stdout_log}"
                    )
                time.sleep(_READY_POLL_S)
        return self.status()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server by PID: SIGTERM for a clean shutdown, SIGKILL if it hangs."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


class _EngineThread(threading.Thread):
    """Runs clickhouse-local with the HTTP listener until a line arrives on the stop pipe."""

    def __init__(self, data_path: Path, stop_pipe: Path) -> None:
        super().__init__(name="clickhouse-local", daemon=True)
        self.data_path = data_path
        self.stop_pipe = stop_pipe
        self.error: str | None = None

    def run(self) -> None:
        from chdb import _chdb  # the private entry point: clickhouse-local's own main

        pipe = str(self.stop_pipe).replace("\\", "\\\\").replace("'", "\\'")
        sql = f"SYSTEM START LISTEN HTTP; SELECT count() FROM file('{pipe}', 'LineAsString')"
        # TabSeparated is the session's default output format, as on clickhouse-server: the HTTP
        # handler answers in it when a request names no format (clickhouse-connect relies on it).
        try:
            # chdb's type stub leaves out the private entry point; tests/integration pin it.
            result = _chdb.query(  # type: ignore[attr-defined]
                sql, "TabSeparated", path=str(self.data_path)
            )
        except RuntimeError as exc:
            self.error = str(exc).strip()
            return
        message = result.error_message()
        if message:
            self.error = message.strip()

    def stop(self, timeout: float) -> None:
        if not self.is_alive():
            return
        # O_NONBLOCK: if the engine already stopped reading, opening for write fails (ENXIO)
        # instead of hanging.
        with contextlib.suppress(OSError):
            fd = os.open(self.stop_pipe, os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, b"stop\n")
            finally:
                os.close(fd)
        self.join(timeout)


def _pings(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _lock_holder(path: Path) -> int | None:
    """None when `<path>/status` is free; else the PID written in it, or 0 if unreadable."""
    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                return _status_pid(status) or 0
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _status_pid(status: Path) -> int | None:
    """The PID the engine wrote into its status file (a `PID: 1234` line), if readable."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for line in status.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "PID" and value.strip().isdigit():
                return int(value.strip())
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return reaped == 0


def _is_our_server(pid: int) -> bool:
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no procfs: trust the PID file
    return b"db\x00serve" in cmdline


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:].strip()
    except OSError:
        return f"(no output in {path})"
