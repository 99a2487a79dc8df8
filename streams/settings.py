"""Runtime settings, read once from the environment.

Every knob has a local default that works on a developer machine with no configuration: the
project's own Kafka broker on loopback, the local ClickHouse (`cobranca db serve`: chDB on disk
under the cache directory, served over HTTP on loopback), the WAHA simulator.
Production sets the variables (see docker-compose.yml).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
        )
