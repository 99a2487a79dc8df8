"""A batch is admitted whole or not at all, so a commit never waits on half a batch; during a
rebalance nothing is admitted, and neither is a message fetched in an earlier generation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

from streams.runtime.transport import SourcePartitionTransactions


@dataclass(frozen=True)
class _Message:
    name: str
    generation_id: int = 1
    topic: str = "cobranca.sends.requested"
    partition: int = 0


def _transactions() -> SourcePartitionTransactions:
    # Only the admission gate is under test; Faust's transaction manager is not started.
    tx = SourcePartitionTransactions.__new__(SourcePartitionTransactions)
    tx.app = SimpleNamespace(consumer_generation_id=1)  # type: ignore[assignment]
    tx._admitted = set()
    tx._lost = set()
    tx._rebalancing = False
    tx._open = asyncio.Event()
    tx._open.set()
    return tx


M1, M2, M3 = _Message("m1"), _Message("m2"), _Message("m3")


async def test_a_batch_waits_for_a_commit_in_preparation_then_enters_whole() -> None:
    tx = _transactions()
    tx._open.clear()  # a commit is being prepared
    admitting = asyncio.create_task(tx.admit_all([M1, M2, M3]))
    await asyncio.sleep(0.01)
    assert not admitting.done()
    assert not any(tx.is_admitted(m) for m in (M1, M2, M3))  # none of it yet
    tx._open.set()
    assert await admitting == [M1, M2, M3]
    assert all(tx.is_admitted(m) for m in (M1, M2, M3))


async def test_admitted_messages_do_not_wait_again() -> None:
    tx = _transactions()
    await tx.admit_all([M1])
    tx._open.clear()
    await asyncio.wait_for(tx.admit_all([M1]), timeout=1)  # already in: no wait
    assert await asyncio.wait_for(tx.admit(M1), timeout=1)
    assert tx.is_admitted(M1) and not tx.is_admitted(M2)


async def test_a_message_waiting_when_a_rebalance_settles_is_refused() -> None:
    tx = _transactions()
    tx._open.clear()  # the revocation's cut
    waiting = asyncio.create_task(tx.admit(M1))
    await asyncio.sleep(0.01)
    tx._rebalancing = True  # what settle() leaves behind
    tx._open.set()
    assert await asyncio.wait_for(waiting, timeout=1) is False
    assert not tx.is_admitted(M1)
    assert await tx.admit_all([M2, M3]) == []


async def test_a_message_of_an_earlier_generation_is_refused() -> None:
    tx = _transactions()
    tx.app.consumer_generation_id = 2
    stale, fresh = _Message("old", generation_id=1), _Message("new", generation_id=2)
    assert await tx.admit_all([stale, fresh]) == [fresh]
    assert not await tx.admit(stale)
