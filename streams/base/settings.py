"""Runtime settings, read once from the environment.

Every knob has a local default that works on a developer machine with no configuration: the
project's own Kafka broker on loopback, the local ClickHouse (`cobranca db serve`: chDB on disk
under the cache directory, served over HTTP on loopback), the WAHA simulator.
Production sets the variables (see docker-compose.yml).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from streams.base.errors import SettingsError

LOCAL_CLICKHOUSE_URL = "http://127.0.0.1:18123"
"""Where `cobranca db serve` listens unless CLICKHOUSE_URL says otherwise."""


def cache_home() -> Path:
    """Where installs and local data live: outside the repository, shared by every clone."""
    explicit = os.environ.get("COBRANCA_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cobranca"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a worker or a CLI command needs to find the outside world."""

    kafka_bootstrap: str
    """Comma-separated `host:port` list (COBRANCA_KAFKA_BOOTSTRAP)."""
    data_dir: Path
    """Faust table state and local databases (COBRANCA_DATA_DIR)."""
    clickhouse_url: str
    """HTTP URL of the ClickHouse everyone uses (CLICKHOUSE_URL); the default is the local
    server `cobranca db serve` runs, http://127.0.0.1:18123."""
    chdb_path: Path
    """Data path of the local server's chDB engine (COBRANCA_CHDB_PATH)."""
    clickhouse_database: str
    """Database that holds the raw tables and views (CLICKHOUSE_DATABASE)."""
    waha_url: str
    """Base URL of the WAHA API (WAHA_URL)."""
    waha_api_key: str | None
    """Value of the X-Api-Key header sent to WAHA (WAHA_API_KEY)."""
    app_id: str
    """Faust application id (COBRANCA_APP_ID): the consumer group, the changelog topics' prefix."""
    topic_partitions: int
    """Partitions for topics created by `cobranca topics create` (COBRANCA_TOPIC_PARTITIONS)."""
    replication_factor: int
    """Replication of topics the app creates (COBRANCA_REPLICATION_FACTOR; 3 in production)."""
    session_timeout_s: float
    """How long a silent worker keeps its partitions (COBRANCA_SESSION_TIMEOUT_S): a killed worker's
    partitions move on after this long."""
    commit_interval_s: float
    """How often a worker commits its transaction (COBRANCA_COMMIT_INTERVAL_S): the latency of
    exactly-once output under read_committed."""
    metrics_port: int | None
    """Port of the worker's Prometheus endpoint, /metrics (COBRANCA_METRICS_PORT); unset means
    the worker exports no metrics."""
    metrics_host: str
    """Address the metrics endpoint binds (COBRANCA_METRICS_HOST): loopback unless set; a
    container that Prometheus scrapes from another host sets 0.0.0.0."""
    clock_interval_s: float = 30.0
    """How often the worker's clock ticks (COBRANCA_CLOCK_INTERVAL_S): a due reminder waits at
    most this long past its moment."""
    dispatch: DispatchSettings = field(default_factory=lambda: DispatchSettings())
    """How the WAHA dispatcher paces, retries and waits (WAHA_SESSION, COBRANCA_DISPATCH_*)."""
    clock_start: datetime | None = None
    """Where the régua's simulated clock starts (COBRANCA_CLOCK_START, an ISO-8601 instant with
    its offset); it then advances in real time. Unset: the real clock. For demos and benches on
    a day the contact windows keep closed (Sundays, holidays), never in production."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = cache_home()
        data_dir = Path(env.get("COBRANCA_DATA_DIR", str(home / "data"))).expanduser()
        metrics_port = env.get("COBRANCA_METRICS_PORT", "").strip()
        return cls(
            kafka_bootstrap=env.get("COBRANCA_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
            data_dir=data_dir,
            clickhouse_url=env.get("CLICKHOUSE_URL") or LOCAL_CLICKHOUSE_URL,
            chdb_path=Path(env.get("COBRANCA_CHDB_PATH", str(data_dir / "chdb"))).expanduser(),
            clickhouse_database=env.get("CLICKHOUSE_DATABASE", "cobranca"),
            waha_url=env.get("WAHA_URL", "http://127.0.0.1:3000"),
            waha_api_key=env.get("WAHA_API_KEY") or None,
            app_id=env.get("COBRANCA_APP_ID", "cobranca"),
            topic_partitions=int(env.get("COBRANCA_TOPIC_PARTITIONS", "6")),
            replication_factor=int(env.get("COBRANCA_REPLICATION_FACTOR", "1")),
            session_timeout_s=float(env.get("COBRANCA_SESSION_TIMEOUT_S", "10")),
            commit_interval_s=float(env.get("COBRANCA_COMMIT_INTERVAL_S", "0.5")),
            metrics_port=int(metrics_port) if metrics_port else None,
            metrics_host=env.get("COBRANCA_METRICS_HOST") or "127.0.0.1",
            clock_interval_s=float(env.get("COBRANCA_CLOCK_INTERVAL_S", "30")),
            dispatch=DispatchSettings.from_env(env),
            clock_start=_instant(env, "COBRANCA_CLOCK_START"),
        )


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """The WAHA dispatcher's knobs (streams/agents/dispatch.py; defaults are conservative)."""

    session: str = "default"
    """WAHA session for a send whose approval and tenant name none (WAHA_SESSION)."""
    timeout_s: float = 10.0
    """Timeout of one WAHA call (WAHA_TIMEOUT_S)."""
    rate_per_s: float = 1.0
    """Sends per second per session, jittered (COBRANCA_DISPATCH_RATE); 0 turns it off."""
    jitter: float = 0.2
    """Fraction each gap between sends varies by (COBRANCA_DISPATCH_JITTER)."""
    backoff_base_s: float = 0.5
    """First retry delay; doubles per failure (COBRANCA_DISPATCH_BACKOFF_BASE_S)."""
    backoff_cap_s: float = 30.0
    """Longest retry delay (COBRANCA_DISPATCH_BACKOFF_CAP_S)."""
    breaker_failures: int = 5
    """Consecutive failures that open a session's circuit (COBRANCA_DISPATCH_BREAKER_FAILURES)."""
    breaker_open_s: float = 30.0
    """How long an open circuit stays open (COBRANCA_DISPATCH_BREAKER_OPEN_S)."""
    session_check_s: float = 5.0
    """How often a paused session's status is read (COBRANCA_DISPATCH_SESSION_CHECK_S)."""
    typing_s: float = 0.0
    """Show "typing..." this long before each send (COBRANCA_DISPATCH_TYPING_S); 0: never."""
    batch: int = 256
    """Approvals a worker takes at once and keeps in flight (COBRANCA_DISPATCH_BATCH); 1: one
    at a time, as before docs/adr/0021."""
    per_session: int = 16
    """Sends of one session in flight at once, to different chats
    (COBRANCA_DISPATCH_PER_SESSION); the session's pacing holds whatever this is."""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DispatchSettings:
        def number(name: str, default: float) -> float:
            return float(env.get(name) or default)

        defaults = cls()
        return cls(
            session=env.get("WAHA_SESSION") or defaults.session,
            timeout_s=number("WAHA_TIMEOUT_S", defaults.timeout_s),
            rate_per_s=number("COBRANCA_DISPATCH_RATE", defaults.rate_per_s),
            jitter=number("COBRANCA_DISPATCH_JITTER", defaults.jitter),
            backoff_base_s=number("COBRANCA_DISPATCH_BACKOFF_BASE_S", defaults.backoff_base_s),
            backoff_cap_s=number("COBRANCA_DISPATCH_BACKOFF_CAP_S", defaults.backoff_cap_s),
            breaker_failures=int(
                number("COBRANCA_DISPATCH_BREAKER_FAILURES", defaults.breaker_failures)
            ),
            breaker_open_s=number("COBRANCA_DISPATCH_BREAKER_OPEN_S", defaults.breaker_open_s),
            session_check_s=number("COBRANCA_DISPATCH_SESSION_CHECK_S", defaults.session_check_s),
            typing_s=number("COBRANCA_DISPATCH_TYPING_S", defaults.typing_s),
            batch=_at_least_one(env, "COBRANCA_DISPATCH_BATCH", defaults.batch),
            per_session=_at_least_one(env, "COBRANCA_DISPATCH_PER_SESSION", defaults.per_session),
        )


def _at_least_one(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise SettingsError(f"{name}={text!r} is not a whole number") from exc
    if value < 1:
        raise SettingsError(f"{name}={value} must be 1 or more")
    return value


def _instant(env: dict[str, str], name: str) -> datetime | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SettingsError(f"{name}={text!r} is not an ISO-8601 instant: {exc}") from exc
    if moment.tzinfo is None:
        raise SettingsError(f"{name}={text!r} has no offset; write it as 2026-12-07T09:00:00-03:00")
    return moment
