"""Agent state that is exact after any crash, because it is read back from the log.

Under exactly-once an agent's outputs and its input offsets commit in one transaction
(streams/runtime/transport.py). So the records an agent wrote to partition *p* of its own output
topics,
read up to the last stable offset, are exactly the effects of the input events it has committed:
folding them gives the state after the last committed event, never ahead of it (work whose
transaction aborted is invisible) and never behind it. This is why the worker keeps no Faust
tables (their in-memory state survives an aborted transaction at a rebalance).

The rules, for an agent that keeps state:

- it writes every event that changes its state to partition *p* of an output topic, where *p* is
  the partition of the input event that caused it (`partition=` on send): all its inputs are
  keyed alike and have the same partition count, so *p* names one slice of the keys;
- it changes its in-memory state only by applying the events it emits, with the same `apply`
  the rebuild uses, so the two cannot drift apart;
- state may also be a fold of an *input* topic when applying an input twice is harmless (a block
  set twice is one block): those inputs are read to their end, past the committed offset.

`PartitionState.of(p)` rebuilds lazily on an agent's first event from *p* after an assignment;
by then the partition's transactional producer has fenced any previous owner, whose open
transaction the broker aborted, so the last stable offset is final. Every rebalance forgets all
partitions: a partition kept across it is rebuilt too, which is simple and costs one read of its
history (snapshots are the next step when histories grow long).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import faust
import structlog

from schemas.events import Event
from streams.base.topics import TopicSpec
from streams.runtime.log_reader import event_from, read_partitions

log = structlog.get_logger(__name__)

S = TypeVar("S")


class PartitionState(Generic[S]):
    """One agent's state per partition number: a fold of `topics` at that partition."""

    def __init__(
        self,
        app: faust.App,
        name: str,
        *,
        bootstrap: str,
        topics: Sequence[TopicSpec],
        initial: Callable[[], S],
        apply: Callable[[S, Event], None],
    ) -> None:
        self.app = app
        self.name = name
        self.bootstrap = bootstrap
        self.topics = tuple(topics)
        self._initial = initial
        self._apply = apply
        self._states: dict[int, S] = {}
        app.on_partitions_revoked.connect(self._forget)

    async def of(self, partition: int) -> S:
        """The state for `partition`, rebuilt from the log if this worker has not got it yet."""
        state = self._states.get(partition)
        if state is None:
            state = await self._rebuild(partition)
            self._states[partition] = state
        return state

    def held(self) -> list[S]:
        """The states this worker has rebuilt since its last assignment (none after a
        rebalance until each partition's first event)."""
        return list(self._states.values())

    async def _rebuild(self, partition: int) -> S:
        records = await read_partitions(self.bootstrap, [(t.name, partition) for t in self.topics])
        state = self._initial()
        for record in records:
            if record.value is None:
                continue
            self._apply(state, event_from(record.value))
        log.info("state_rebuilt", state=self.name, partition=partition, events=len(records))
        return state

    async def _forget(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        self._states.clear()
