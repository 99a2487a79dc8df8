"""The sink's metrics: rows per raw table, the lag behind the log, batches' newest timestamps."""

from __future__ import annotations

from connectors.clickhouse.batches import Batch, PartitionBuffer
from connectors.clickhouse.sink import SinkMetrics


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def value(metrics: SinkMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_batch_remembers_the_newest_log_timestamp_of_its_rows() -> None:
    buffer = PartitionBuffer.resume("cobranca.ledger", 0, 10, (), max_rows=2)
    buffer.add(10, b"a", now=0.0, timestamp_ms=5_000)
    buffer.add(11, b"b", now=0.0, timestamp_ms=4_000)  # CreateTime need not grow
    buffer.add(12, None, now=0.0, timestamp_ms=9_000)  # not an event: no row, no time
    buffer.add(13, b"c", now=0.0, timestamp_ms=-1)  # no timestamp
    [first] = buffer.take(now=10.0, max_wait=0.0)
    [second] = buffer.take(now=10.0, max_wait=0.0)
    assert (first.start, first.end, first.newest_ms) == (10, 12, 5_000)
    assert (second.start, second.end, second.newest_ms) == (12, 14, None)


def test_rows_are_counted_per_raw_table_and_the_lag_follows_the_newest_row() -> None:
    clock = Clock(1_000.0)
    metrics = SinkMetrics(clock=clock)
    # Until a row is written, the lag counts from the sink's start.
    clock.now = 1_030.0
    assert value(metrics, "cobranca_sink_lag_seconds") == 30.0
    metrics.written(
        [
            Batch("cobranca.ledger", 0, 0, 3, [b"a", b"b", b"c"], newest_ms=1_020_000),
            Batch("cobranca.intents", 1, 7, 8, [b"d"], newest_ms=1_010_000),
            Batch("cobranca.intents", 2, 0, 1, [], newest_ms=None),
        ]
    )
    assert value(metrics, "cobranca_sink_rows_total", table="raw_ledger") == 3
    assert value(metrics, "cobranca_sink_rows_total", table="raw_intents") == 1
    assert value(metrics, "cobranca_sink_batches_total") == 3
    assert value(metrics, "cobranca_sink_lag_seconds") == 10.0
    clock.now = 1_200.0
    assert value(metrics, "cobranca_sink_lag_seconds") == 180.0
    # An older batch written later does not move the newest time back.
    metrics.written([Batch("cobranca.ledger", 0, 3, 4, [b"e"], newest_ms=900_000)])
    assert value(metrics, "cobranca_sink_lag_seconds") == 180.0


def test_every_sink_metric_is_prefixed_and_explained() -> None:
    families = list(SinkMetrics().registry.collect())
    assert {f.name for f in families} == {
        "cobranca_sink_rows",
        "cobranca_sink_batches",
        "cobranca_sink_insert_retries",
        "cobranca_sink_lag_seconds",
        "cobranca_sink_records_waiting",
    }
    assert all(len(f.documentation) > 20 for f in families)
