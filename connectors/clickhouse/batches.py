"""Deterministic sink batches: offset ranges of one topic-partition, cut the same way on every
attempt.

The sink inserts a batch `[start, end)` with a deduplication token that names the range, and
commits `end` to the consumer group only after ClickHouse acknowledged it. A crash between the
insert and the commit makes the next owner of the partition start again at `start`; it must then
cut exactly the same range, or its token differs and rows are inserted twice. Ranges cut by row
count or by time depend on how fast records arrived, so before inserting, the sink records the
ends it is about to insert in the commit metadata of the offset it has not moved yet:

    commit(start, "cobranca-sink/1 ends=1700,2300")   # the plan, before any insert
    insert [start, 1700) and [1700, 2300)              # tokens ...@start-1700, ...@1700-2300
    commit(2300, "")                                   # done

Whoever resumes from `start` with a plan in the metadata cuts at those ends first, and only then
by size and time again. Retries therefore repeat the same tokens, which ClickHouse drops.

Pure: no Kafka, no ClickHouse, no clock (callers pass `now`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "PLAN_PREFIX",
    "Batch",
    "PartitionBuffer",
    "batch_token",
    "parse_plan",
    "plan_metadata",
]

PLAN_PREFIX = "cobranca-sink/1 ends="
MAX_PLANNED_BATCHES = 64
"""At most this many batches of one partition per flush: the plan must fit in Kafka's commit
metadata (offset.metadata.max.bytes, 4096 by default)."""


def batch_token(topic: str, partition: int, start: int, end: int) -> str:
    """``topic[partition]@start-end``: offsets `start <= offset < end`, the same on every retry."""
    if not 0 <= start < end:
        raise ValueError(f"an offset range needs 0 <= start < end, got [{start}, {end})")
    return f"{topic}[{partition}]@{start}-{end}"


def plan_metadata(ends: Sequence[int]) -> str:
    """Commit metadata recording the ends of the batches about to be inserted, in order."""
    if not ends or list(ends) != sorted(set(ends)):
        raise ValueError(f"a plan needs increasing ends, got {list(ends)}")
    return PLAN_PREFIX + ",".join(str(end) for end in ends)


def parse_plan(metadata: str | None, committed: int) -> tuple[int, ...]:
    """The planned ends after `committed` recorded in `metadata`; () when there is no plan.

    Metadata this sink did not write (another tool's, an older format) means no plan: the range
    is then cut afresh, which is only unsafe if that other writer inserted rows it did not commit.
    """
    if not metadata or not metadata.startswith(PLAN_PREFIX):
        return ()
    try:
        ends = [int(part) for part in metadata.removeprefix(PLAN_PREFIX).split(",")]
    except ValueError:
        return ()
    return tuple(end for end in ends if end > committed)


@dataclass(slots=True)
class Batch:
    """Rows of the records with `start <= offset < end` of one topic-partition."""

    topic: str
    partition: int
    start: int
    end: int
    rows: list[bytes]
    """One frame per event (`raw_tables.RawTableWriter.frame`); records that are not events
    have none."""
    newest_ms: int | None = None
    """The latest log timestamp (ms since the epoch) among its rows, when the records had one:
    how far behind the log the table is once the batch is written (the sink's lag)."""

    @property
    def token(self) -> str:
        return batch_token(self.topic, self.partition, self.start, self.end)


@dataclass(slots=True)
class PartitionBuffer:
    """Records of one partition read since its committed offset, cut into batches.

    Feed every record with `add` in offset order and the consumer's position with `reached`;
    `take` hands out the batches that are due. Ranges are contiguous: each batch starts where
    the previous ended, beginning at the committed offset.
    """

    topic: str
    partition: int
    next_start: int
    """Start of the open batch: the committed offset, then each taken batch's end."""
    max_rows: int
    planned: deque[int] = field(default_factory=deque)
    """Ends recorded in the commit metadata, still to cut at before anything else."""
    rows: list[bytes] = field(default_factory=list)
    seen_end: int = -1
    """Offset after the last record added (or -1)."""
    opened_at: float | None = None
    """`now` when the open batch got its first record."""
    newest_ms: int | None = None
    """The latest log timestamp among the open batch's rows."""
    sealed: list[Batch] = field(default_factory=list)

    @classmethod
    def resume(
        cls, topic: str, partition: int, committed: int, planned: Iterable[int], max_rows: int
    ) -> PartitionBuffer:
        """A buffer starting at the committed offset, with the plan found beside it (if any)."""
        return cls(topic, partition, committed, max_rows, planned=deque(sorted(set(planned))))

    @property
    def pending_rows(self) -> int:
        return len(self.rows) + sum(len(batch.rows) for batch in self.sealed)

    def add(
        self, offset: int, row: bytes | None, now: float, timestamp_ms: int | None = None
    ) -> None:
        """One record (`row` None for a record that is not an event), with its log timestamp."""
        if offset < self.next_start:
            return  # re-delivered after a seek: already part of a batch
        while self.planned and offset >= self.planned[0]:
            self._seal(self.planned.popleft())
        if self.opened_at is None:
            self.opened_at = now
        if row is not None:
            self.rows.append(row)
            if (
                timestamp_ms is not None
                and timestamp_ms >= 0  # -1: a record without a timestamp
                and (self.newest_ms is None or timestamp_ms > self.newest_ms)
            ):
                self.newest_ms = timestamp_ms
        self.seen_end = offset + 1
        if not self.planned and len(self.rows) >= self.max_rows:
            self._seal(self.seen_end)

    def reached(self, position: int) -> None:
        """The consumer has delivered every record before `position` (control records and
        aborted transactions leave gaps, so a planned end may lie past the last record)."""
        while self.planned and position >= self.planned[0]:
            self._seal(self.planned.popleft())

    def cut(self, end: int) -> None:
        """Close the open batch at `end` (a replay's last offset), whatever its size or age."""
        while self.planned and end >= self.planned[0]:
            self._seal(self.planned.popleft())
        self._seal(end)

    def due(self, now: float, max_wait: float) -> bool:
        """True when `take` would hand out a batch."""
        if self.sealed:
            return True
        return (
            not self.planned
            and self.opened_at is not None
            and now - self.opened_at >= max_wait
            and self.seen_end > self.next_start
        )

    def take(self, now: float, max_wait: float) -> list[Batch]:
        """The due batches, in offset order (at most MAX_PLANNED_BATCHES)."""
        if not self.sealed and self.due(now, max_wait):
            self._seal(self.seen_end)
        taken, self.sealed = (
            self.sealed[:MAX_PLANNED_BATCHES],
            self.sealed[MAX_PLANNED_BATCHES:],
        )
        return taken

    def _seal(self, end: int) -> None:
        if end < self.seen_end:
            raise ValueError(
                f"{self.topic}[{self.partition}]: cannot close a batch at {end}, records up to "
                f"{self.seen_end - 1} are already in it"
            )
        if end > self.next_start:
            self.sealed.append(
                Batch(self.topic, self.partition, self.next_start, end, self.rows, self.newest_ms)
            )
            self.next_start = end
        self.rows = []
        self.opened_at = None
        self.newest_ms = None
