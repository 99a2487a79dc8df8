"""The audit trail hands records over without holding the answer back, pushes back when too many
are unacknowledged, survives a refused record, and stores the rest at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from connectors.api.audit import AuditTrail
from schemas.events import Event
from streams.base.errors import ProduceFailed
from tests.factories import api_request_audited


class GatedLog:
    """An EventLog whose appends wait until the test opens the gate (a slow broker)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.gate = asyncio.Event()
        self.stored: list[tuple[Event, str]] = []
        self.refuse = refuse

    async def append(self, events: Sequence[tuple[Event, str]]) -> None:
        await self.gate.wait()
        if self.refuse:
            raise ProduceFailed("the broker refused the record")
        self.stored.extend(events)


async def test_record_returns_before_the_log_acknowledges_and_drain_waits_for_it() -> None:
    log = GatedLog()
    trail = AuditTrail(log)  # type: ignore[arg-type]
    await asyncio.wait_for(trail.record(api_request_audited("acme"), "user:u-1"), 1)
    assert trail.pending == 1 and log.stored == []
    asyncio.get_running_loop().call_later(0.05, log.gate.set)
    await trail.drain(timeout_s=5)
    assert trail.pending == 0
    assert [key for _, key in log.stored] == ["user:u-1"]


async def test_a_caller_waits_once_max_pending_records_are_unacknowledged() -> None:
    log = GatedLog()
    trail = AuditTrail(log, max_pending=2)  # type: ignore[arg-type]
    for _ in range(2):
        await trail.record(api_request_audited("acme"), "user:u-1")
    third = asyncio.create_task(trail.record(api_request_audited("acme"), "user:u-1"))
    await asyncio.sleep(0.05)
    assert not third.done()  # back-pressure: memory stays bounded while the broker is slow
    log.gate.set()
    await asyncio.wait_for(third, 1)
    await trail.drain(timeout_s=5)
    assert len(log.stored) == 3


async def test_a_refused_record_is_logged_and_frees_its_slot(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = GatedLog(refuse=True)
    log.gate.set()
    trail = AuditTrail(log, max_pending=1)  # type: ignore[arg-type]
    await trail.record(api_request_audited("acme", "sendMessages"), "key:k-1")
    await trail.drain(timeout_s=5)
    await asyncio.wait_for(trail.record(api_request_audited("acme"), "key:k-1"), 1)
    await trail.drain(timeout_s=5)
    assert "audit record not stored" in capsys.readouterr().out
