"""The régua's state in a worker: one ScheduleBook per partition it owns, rebuilt from the
schedules topic.

A partition's book is the fold (streams/regua.py) of what the régua wrote to the same
partition of `cobranca.regua.schedules`, read under read_committed to its end when the first
event of that partition arrives. By then the partition's transactional producer has fenced
the previous owner, so the end read is exactly the state its committed input offsets left.
Books are dropped when their partition is revoked. To be replaced by streams/state.py when
that lands; the fold does not change.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import structlog

from schemas.codec import decode
from schemas.events import RemindersScheduled
from streams.log_reader import read_topic
from streams.regua import ScheduleBook, fold
from streams.topics import REGUA_SCHEDULES

log = structlog.get_logger(__name__)


class ScheduleBooks:
    """The books of the partitions this worker processes."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._books: dict[int, ScheduleBook] = {}

    async def book(self, partition: int) -> ScheduleBook:
        book = self._books.get(partition)
        if book is None:
            began = time.monotonic()
            records = await read_topic(
                self._bootstrap, REGUA_SCHEDULES.name, partitions=[partition]
            )
            book = fold(RemindersScheduled.from_data(decode(r.value)) for r in records if r.value)
            self._books[partition] = book
            log.info(
                "regua_state_loaded",
                partition=partition,
                records=len(records),
                clients=len(book),
                seconds=round(time.monotonic() - began, 3),
            )
        return book

    def drop(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._books.pop(partition, None)
