"""The audit trail of state-changing calls: each ApiRequestAudited is stored without holding the
caller's answer back.

The answer never depended on the audit record: a call is done once its own events are stored,
and a record Kafka refused was only ever logged, never turned into an error. Waiting for its
acknowledgement therefore added one broker round trip to every write and nothing else (on
`POST messages`, the difference between 1.5k and 2k sends/s; bench/api_bench.py). Records are
handed to the log here and stored in the background; the trail waits only when `max_pending`
records are still unacknowledged (back-pressure, so a slow broker cannot grow memory without
bound), and `drain` stores the rest before the application's producers stop (ADR 0023).

A replica killed outright loses the records of its last round trip, the same window as before,
between a call's own acknowledgement and its record's.
"""

from __future__ import annotations

import asyncio

import structlog

from connectors.api.ports import EventLog
from schemas.events import ApiRequestAudited
from streams.base.errors import ProduceFailed

__all__ = ["AuditTrail"]

log = structlog.get_logger("cobranca.api")


class AuditTrail:
    """Stores audit records on `log_` in the background, at most `max_pending` at a time."""

    def __init__(self, log_: EventLog, *, max_pending: int = 10_000) -> None:
        self._log = log_
        self._slots = asyncio.Semaphore(max_pending)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Records handed over and not yet acknowledged (or refused)."""
        return len(self._tasks)

    async def record(self, event: ApiRequestAudited, key: str) -> None:
        """Hand `event` to the log; returns at once unless `max_pending` are in flight."""
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._store(event, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store(self, event: ApiRequestAudited, key: str) -> None:
        try:
            await self._log.append([(event, key)])
        except ProduceFailed as exc:
            # The call itself is done and stored; its answer stands, the missing record is loud.
            log.error(
                "audit record not stored",
                operation=event.operation,
                request_id=event.request_id,
                error=str(exc),
            )
        finally:
            self._slots.release()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every record handed over is stored or refused (at shutdown)."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        if late:
            log.error("audit records not stored at shutdown", records=len(late))
