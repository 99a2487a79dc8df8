"""Issue 16 §5: ClickHouse is down for a while; the sink waits, then catches up exactly once.

The ClickHouse of this test is its own `cobranca db serve` process (the session's serves every
other test): SIGKILLed mid-stream, as a crash would, and started again on the same data path
after the outage. The sink is the real `cobranca sink` process throughout: it must not exit
(nothing would restart it here), and every event produced before, during and after the outage
must be in ClickHouse once, counted per event id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.server import LocalClickHouse
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.clickhouse_cli import DB_SERVE
from tests.faults import report
from tests.integration.clickhouse.test_sink import (
    SINK_ARGS,
    SinkProcess,
    duplicated_positions,
    event_ids,
    produce,
    tenant_counts,
    traffic,
)
from tests.integration.conftest import server_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def own_clickhouse(tmp_path: Path) -> Iterator[tuple[LocalClickHouse, Settings]]:
    settings = server_settings(tmp_path / "clickhouse", free_port())
    server = LocalClickHouse.from_settings(settings)
    server.start(DB_SERVE, timeout=90)
    try:
        yield server, settings
    finally:
        server.stop()


def _sigkill(server: LocalClickHouse) -> None:
    pid = server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while server.answers():
        assert time.monotonic() < deadline, "the killed server still answers"
        time.sleep(0.1)


@pytest.mark.parametrize(
    "outage_s",
    [pytest.param(10.0, id="short"), pytest.param(60.0, id="long", marks=pytest.mark.chaos)],
)
def test_clickhouse_down_for_a_while_the_sink_waits_then_writes_every_event_once(
    kafka_bootstrap: str,
    own_clickhouse: tuple[LocalClickHouse, Settings],
    tmp_path: Path,
    outage_s: float,
) -> None:
    server, settings = own_clickhouse
    database = f"outage_{uuid.uuid4().hex[:8]}"
    with connect(settings) as client:
        apply_migrations(client, database)
    tenant = f"t{uuid.uuid4().hex[:6]}"
    events = traffic(tenant, 300)
    before, during = events[: len(events) // 2], events[len(events) // 2 :]
    env = {
        "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CLICKHOUSE_URL": settings.clickhouse_url,
        "CLICKHOUSE_DATABASE": database,
        "COBRANCA_APP_ID": f"outage-{uuid.uuid4().hex[:6]}",
        "COBRANCA_LOG_FORMAT": "json",
    }
    log = tmp_path / "sink.log"
    sink = SinkProcess(settings, env, log)
    asyncio.run(produce(kafka_bootstrap, before))
    sink.start(*SINK_ARGS)
    assert sink.proc is not None
    try:
        with connect(settings) as client:
            deadline = time.monotonic() + 120
            while sum(tenant_counts(client, database, tenant).values()) == 0:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert sink.proc.poll() is None, log.read_text()[-3000:]
                time.sleep(0.1)
        _sigkill(server)  # mid-stream: the sink is still writing the first half
        down_at = time.monotonic()
        asyncio.run(produce(kafka_bootstrap, during))  # the log keeps taking events
        time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
        assert sink.proc.poll() is None, (
            "the sink exited while ClickHouse was down\n" + (log.read_text()[-3000:])
        )
        assert "sink waits for ClickHouse" in log.read_text(), log.read_text()[-3000:]
        server.start(DB_SERVE, timeout=90)
        up_at = time.monotonic()
        with connect(settings) as client:
            deadline = time.monotonic() + 180
            while len(event_ids(client, database, tenant)) < len(events):
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert sink.proc.poll() is None, log.read_text()[-3000:]
                time.sleep(0.2)
            caught_up_s = time.monotonic() - up_at
            time.sleep(2.0)  # a row written twice would show now
            ids = event_ids(client, database, tenant)
            positions_twice = duplicated_positions(client, database)
    finally:
        sink.proc.send_signal(signal.SIGTERM)
        try:
            sink.proc.wait(timeout=60)
        except Exception:
            sink.kill()
    assert sink.proc.returncode == 0, log.read_text()[-3000:]
    assert "sink reaches ClickHouse again" in log.read_text()
    report(
        f"clickhouse_down_{outage_s:g}s",
        [e.header.event_id for e in events],
        ids,
        caught_up_s=round(caught_up_s, 1),
    )
    assert positions_twice == 0
