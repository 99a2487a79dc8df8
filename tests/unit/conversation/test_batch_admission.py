"""A batch is admitted whole or not at all, so a commit never waits on half a batch."""

from __future__ import annotations

import asyncio

from streams.transport import SourcePartitionTransactions


def _transactions() -> SourcePartitionTransactions:
    # Only the admission gate is under test; Faust's transaction manager is not started.
    tx = SourcePartitionTransactions.__new__(SourcePartitionTransactions)
    tx._admitted = set()
    tx._open = asyncio.Event()
    tx._open.set()
    return tx


async def test_a_batch_waits_for_a_commit_in_preparation_then_enters_whole() -> None:
    tx = _transactions()
    tx._open.clear()  # a commit is being prepared
    admitting = asyncio.create_task(tx.admit_all(["m1", "m2", "m3"]))
    await asyncio.sleep(0.01)
    assert not admitting.done()
    assert not any(tx.is_admitted(m) for m in ("m1", "m2", "m3"))  # none of it yet
    tx._open.set()
    await admitting
    assert all(tx.is_admitted(m) for m in ("m1", "m2", "m3"))


async def test_admitted_messages_do_not_wait_again() -> None:
    tx = _transactions()
    await tx.admit_all(["m1"])
    tx._open.clear()
    await asyncio.wait_for(tx.admit_all(["m1"]), timeout=1)  # already in: no wait
    await asyncio.wait_for(tx.admit("m1"), timeout=1)
    assert tx.is_admitted("m1") and not tx.is_admitted("m2")
