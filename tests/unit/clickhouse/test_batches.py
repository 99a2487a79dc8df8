"""Sink batches: cut by size, time and plan, and cut again identically after a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.clickhouse.batches import (
    MAX_PLANNED_BATCHES,
    Batch,
    PartitionBuffer,
    batch_token,
    parse_plan,
    plan_metadata,
)

TOPIC = "cobranca.ledger"


def buffer(start: int = 0, *, max_rows: int = 3, planned: tuple[int, ...] = ()) -> PartitionBuffer:
    return PartitionBuffer.resume(TOPIC, 2, start, planned, max_rows)


def ranges(batches: list[Batch]) -> list[tuple[int, int, int]]:
    return [(b.start, b.end, len(b.rows)) for b in batches]


def test_token_names_the_half_open_range() -> None:
    assert batch_token(TOPIC, 2, 100, 150) == "cobranca.ledger[2]@100-150"
    with pytest.raises(ValueError, match="start < end"):
        batch_token(TOPIC, 2, 5, 5)


def test_plan_metadata_round_trips_and_ignores_what_is_not_ours() -> None:
    assert parse_plan(plan_metadata([10, 20, 35]), committed=0) == (10, 20, 35)
    assert parse_plan(plan_metadata([10, 20, 35]), committed=20) == (35,)
    assert parse_plan("", 0) == ()
    assert parse_plan(None, 0) == ()
    assert parse_plan("some-other-tool", 0) == ()
    assert parse_plan("cobranca-sink/1 ends=1,x", 0) == ()
    with pytest.raises(ValueError, match="increasing"):
        plan_metadata([20, 10])


def test_a_batch_is_cut_at_max_rows() -> None:
    buf = buffer(max_rows=3)
    for offset in range(7):
        buf.add(offset, b"row", now=0.0)
    assert ranges(buf.take(now=0.0, max_wait=10)) == [(0, 3, 3), (3, 6, 3)]
    assert buf.next_start == 6 and buf.pending_rows == 1


def test_a_small_batch_is_cut_once_its_first_record_waited_max_wait() -> None:
    buf = buffer(start=10, max_rows=100)
    buf.add(10, b"a", now=5.0)
    buf.add(13, b"b", now=5.5)  # 11 and 12 were transaction markers
    assert not buf.due(now=5.9, max_wait=1.0)
    assert buf.due(now=6.0, max_wait=1.0)
    assert ranges(buf.take(now=6.0, max_wait=1.0)) == [(10, 14, 2)]
    assert not buf.due(now=100.0, max_wait=1.0)


def test_records_that_are_not_events_still_move_the_range_forward() -> None:
    buf = buffer(max_rows=100)
    buf.add(0, None, now=0.0)
    buf.add(1, b"a", now=0.0)
    buf.add(2, None, now=0.0)
    [batch] = buf.take(now=2.0, max_wait=1.0)
    assert (batch.start, batch.end, batch.rows) == (0, 3, [b"a"])


def test_a_planned_range_is_cut_at_its_plan_not_by_size_or_time() -> None:
    buf = buffer(start=100, max_rows=2, planned=(105, 108))
    for offset in range(100, 104):
        buf.add(offset, b"r", now=0.0)
    assert not buf.due(now=1_000.0, max_wait=1.0)  # neither 2 rows nor waiting cuts it
    buf.add(105, b"r", now=0.0)  # 104 was a marker: the first plan ends at 105
    buf.add(106, b"r", now=0.0)
    buf.reached(108)  # 107 was a marker too: the consumer is past the second end
    assert ranges(buf.take(now=0.0, max_wait=1.0)) == [(100, 105, 4), (105, 108, 2)]
    for offset in range(108, 111):  # after the plan, size cuts again
        buf.add(offset, b"r", now=0.0)
    assert ranges(buf.take(now=0.0, max_wait=1.0)) == [(108, 110, 2)]


def test_records_before_the_committed_offset_are_ignored() -> None:
    buf = buffer(start=50, max_rows=10)
    buf.add(49, b"old", now=0.0)
    buf.add(50, b"new", now=0.0)
    assert ranges(buf.take(now=5.0, max_wait=1.0)) == [(50, 51, 1)]


def test_a_replay_cuts_the_last_batch_at_the_snapshot_end() -> None:
    buf = buffer(max_rows=10)
    buf.add(0, b"r", now=0.0)
    buf.cut(4)
    assert ranges(buf.take(now=0.0, max_wait=float("inf"))) == [(0, 4, 1)]
    with pytest.raises(ValueError, match="already in it"):
        buf.add(5, b"r", now=0.0)
        buf.cut(5)


def test_one_flush_takes_at_most_max_planned_batches() -> None:
    buf = buffer(max_rows=1)
    for offset in range(MAX_PLANNED_BATCHES + 5):
        buf.add(offset, b"r", now=0.0)
    assert len(buf.take(now=0.0, max_wait=1.0)) == MAX_PLANNED_BATCHES
    assert len(buf.take(now=0.0, max_wait=1.0)) == 5


@given(
    offsets=st.lists(st.integers(0, 3), min_size=1, max_size=60).map(
        lambda gaps: [sum(gaps[: i + 1]) + i for i in range(len(gaps))]
    ),
    max_rows=st.integers(1, 7),
    arrivals=st.lists(st.floats(0, 3), min_size=60, max_size=60),
    crash_after=st.integers(0, 59),
)
def test_after_a_crash_the_plan_reproduces_the_same_ranges(
    offsets: list[int], max_rows: int, arrivals: list[float], crash_after: int
) -> None:
    """Whatever the timing, the ranges of a flush are cut identically by whoever resumes it."""
    first = buffer(max_rows=max_rows)
    now = 0.0
    for offset, gap in zip(offsets[: crash_after + 1], arrivals, strict=False):
        now += gap
        first.add(offset, str(offset).encode(), now=now)
    planned = first.take(now=now, max_wait=1.0)
    if not planned:
        return
    # The flush recorded its plan, inserted and crashed before committing; a new owner resumes
    # at the committed offset, with other timing, and reads further than the first one did.
    metadata = plan_metadata([batch.end for batch in planned])
    second = PartitionBuffer.resume(TOPIC, 2, 0, parse_plan(metadata, 0), max_rows)
    for offset in offsets:
        second.add(offset, str(offset).encode(), now=1_000.0)
    second.reached(offsets[-1] + 1)
    replayed = second.take(now=1_000.0, max_wait=1.0)[: len(planned)]
    assert [(b.token, b.rows) for b in replayed] == [(b.token, b.rows) for b in planned]
