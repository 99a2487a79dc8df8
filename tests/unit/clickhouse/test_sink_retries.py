"""The sink's insert retries: a ClickHouse that does not answer is waited for (up to
`clickhouse_wait_s`), one that refuses a batch is retried five times. The end-to-end case (a
served ClickHouse SIGKILLed for 10 s and 60 s): tests/integration/clickhouse/test_sink_outage.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connectors.clickhouse import sink as sink_module
from connectors.clickhouse.batches import Batch
from connectors.clickhouse.errors import SinkError, SinkInsertFailed
from connectors.clickhouse.sink import ClickHouseSink, SinkConfig


class FakeTime:
    """monotonic() that only the patched sleep advances."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay


class Writer:
    """Fails with each of `failures` in turn, then inserts."""

    def __init__(self, failures: list[SinkInsertFailed]) -> None:
        self.failures = failures
        self.inserted: list[Batch] = []

    def insert(self, client: Any, database: str, batch: Batch) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.inserted.append(batch)


DOWN = SinkInsertFailed("connection refused", unreachable=True)
REFUSED = SinkInsertFailed("ClickHouse refused batch")
BATCH = Batch("cobranca.ledger", 0, 0, 2, [b"a", b"b"])


def _insert(
    monkeypatch: pytest.MonkeyPatch, writer: Writer, **config: Any
) -> tuple[FakeTime, ClickHouseSink]:
    clock = FakeTime()
    monkeypatch.setattr(sink_module, "time", clock)
    monkeypatch.setattr(sink_module.asyncio, "sleep", clock.sleep)
    sink = ClickHouseSink(
        SinkConfig("127.0.0.1:9", "db", "group", **config),
        None,  # type: ignore[arg-type]
        writer,  # type: ignore[arg-type]
    )
    asyncio.run(sink._insert(BATCH))
    return clock, sink


def test_a_clickhouse_that_does_not_answer_is_waited_for_past_five_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = Writer([DOWN] * 20)  # about a minute of backoff
    clock, sink = _insert(monkeypatch, writer)
    assert writer.inserted == [BATCH]
    assert clock.sleeps[:5] == [0.5, 1.0, 2.0, 4.0, 5.0] and max(clock.sleeps) == 5.0
    assert 60 <= clock.now < 600
    assert sink.metrics.insert_retries._value.get() == 20


def test_a_clickhouse_silent_past_the_wait_stops_the_sink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SinkError, match="did not answer for 30 s"):
        _insert(monkeypatch, Writer([DOWN] * 1000), clickhouse_wait_s=30.0)


def test_a_refused_batch_is_retried_five_times_whatever_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SinkError, match="gave up after 5 attempts"):
        _insert(monkeypatch, Writer([REFUSED] * 5))
    writer = Writer([REFUSED, DOWN, DOWN, REFUSED, REFUSED])  # waits do not use up attempts
    _insert(monkeypatch, writer)
    assert writer.inserted == [BATCH]
