"""The dispatcher agent: SendApproved → WAHA → MessageDispatched or DispatchFailed.

It is the only consumer of cobranca.sends.decided. Each approval's outcome is written to
cobranca.dispatches, keyed by tenant like its input, to the input's partition and in the
transaction that commits the approval's offset: under read_committed every approval has exactly
one final outcome (MessageDispatched, or DispatchFailed with retryable false, which the ledger
refunds), preceded by the retried failures worth recording (DispatchFailed, retryable true).

Approvals are taken in batches (`COBRANCA_DISPATCH_BATCH`) and dispatched concurrently by
`Dispatcher.dispatch_many`: one lane per chat (a chat's messages go one at a time, in the order
approved), at most `COBRANCA_DISPATCH_PER_SESSION` sends of a session in flight, the session's
pacing shared by all. An outcome is written as soon as it, and every event before it in its
partition, is done; its event is then acknowledged, so a partition's events are acknowledged in
offset order, which the transport's commits rely on (docs/adr/0021).

The WAHA call itself is a side effect outside Kafka, so it is at-least-once: a crash after WAHA
accepted a message and before the commit sends it again on restart (now at most the sends in
flight and those of the last commit interval). Three things narrow that:

- the agent keeps, per partition, the set of requests whose final outcome is on the log (a fold
  of its own outputs, streams/runtime/state.py), so an approval read again is never sent again;
- while it waits for WAHA (sends, retries, an open circuit, a paused session) the batch is
  released from the commit cut (`SourcePartitionTransactions.release`), so the rest of the
  worker keeps committing, and a long WAHA outage does not run the worker's open transactions
  into their timeout;
- when a rebalance or a shutdown starts during the wait, it abandons the events not yet written
  (no commit covers their offsets, so their next owner processes them) and keeps a sent
  message's result in memory, so that if the approval comes back to this worker the message is
  not sent twice.

See docs/adr/0006 and docs/adr/0021 for the choices and their limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import faust
import structlog

from connectors.waha.client import FileToSend, WahaClient
from connectors.waha.dispatch import Backoff
from connectors.waha.dispatcher import (
    AttemptFailure,
    Dispatcher,
    DispatchPolicy,
    Outcome,
    SendOrder,
)
from connectors.waha.wire import link_key
from schemas.codec import encode
from schemas.events import (
    DispatchFailed,
    Event,
    EventHeader,
    MessageDispatched,
    SendApproved,
    SendKind,
    caused_by,
)
from streams.base.settings import DispatchSettings, Settings
from streams.base.topics import DISPATCHES
from streams.runtime import processing
from streams.runtime.channels import Channels
from streams.runtime.state import PartitionState
from streams.runtime.transport import SourcePartitionTransactions

__all__ = [
    "SOURCE",
    "DispatchAgent",
    "DispatchBook",
    "order_for",
    "outcome_events",
    "policy_from",
]

log = structlog.get_logger(__name__)

SOURCE: Final = "streams.dispatch"
DISPATCH_IDS: Final = uuid.UUID("8a0c8c52-9e4f-4d0b-9a57-3f1d0c5b7e21")
_RECENT_MAX: Final = 10_000
#: How long a batch waits to fill up (COBRANCA_DISPATCH_BATCH approvals) before it goes: the
#: delay a lone approval takes on its way to WAHA.
BATCH_WITHIN_S: Final = 0.02
#: How long outcomes that end about together wait for each other, to be written as one
#: produce batch: next to a send's round trip to WAHA and a commit interval, nothing.
FLUSH_EVERY_S: Final = 0.01


def policy_from(settings: DispatchSettings) -> DispatchPolicy:
    return DispatchPolicy(
        rate_per_s=settings.rate_per_s,
        jitter=settings.jitter,
        backoff=Backoff(base_s=settings.backoff_base_s, cap_s=settings.backoff_cap_s),
        breaker_failures=settings.breaker_failures,
        breaker_open_s=settings.breaker_open_s,
        session_check_s=settings.session_check_s,
        typing_s=settings.typing_s,
        per_session=settings.per_session,
    )


def order_for(approved: SendApproved, session: str) -> SendOrder:
    """What to send for an approval, through `session`."""
    file = None
    if approved.kind == SendKind.FILE:
        if not approved.file_url or not approved.file_mimetype:
            raise ValueError(
                f"SendApproved {approved.request_id} is a FILE send without file_url and "
                "file_mimetype"
            )
        file = FileToSend(approved.file_url, approved.file_mimetype, approved.file_name)
    return SendOrder(
        tenant_id=approved.header.tenant_id,
        request_id=approved.request_id,
        session=session,
        phone_e164=approved.phone_e164,
        text=approved.text,
        file=file,
    )


def _header(event_type: str, cause: SendApproved, now: datetime, n: int) -> EventHeader:
    # Derived ids: an approval dispatched again after an aborted transaction writes the same ids;
    # `n` tells apart the failures of one approval.
    key = f"{cause.header.event_id}|{event_type}|{n}"
    return caused_by(
        event_type, cause, occurred_at=now, source=SOURCE, namespace=DISPATCH_IDS, key=key
    )


def outcome_events(
    approved: SendApproved, session: str, outcome: Outcome, now: datetime
) -> list[Event]:
    """The events an outcome is recorded as: the retried failures, then the final one."""
    events: list[Event] = [
        DispatchFailed(
            header=_header("DispatchFailed", approved, now, n),
            request_id=approved.request_id,
            session=session,
            attempt=failure.attempt,
            retryable=True,
            error=failure.error,
            status_code=failure.status_code,
        )
        for n, failure in enumerate(outcome.failures)
    ]
    if outcome.sent is not None:
        events.append(
            MessageDispatched(
                header=_header("MessageDispatched", approved, now, 0),
                request_id=approved.request_id,
                session=session,
                chat_id=outcome.sent.chat_id,
                waha_message_id=link_key(outcome.sent.message_id),
                attempt=max(outcome.attempts, 1),
            )
        )
    elif outcome.permanent is not None:
        failure = outcome.permanent
        events.append(
            DispatchFailed(
                header=_header("DispatchFailed", approved, now, len(outcome.failures)),
                request_id=approved.request_id,
                session=session,
                attempt=failure.attempt,
                retryable=False,
                error=failure.error,
                status_code=failure.status_code,
            )
        )
    return events


@dataclass(slots=True)
class DispatchBook:
    """Requests of one partition whose final outcome is on the log: a fold of the dispatcher's
    own outputs, so an approval read twice is dispatched once."""

    finished: set[str] = field(default_factory=set)

    @staticmethod
    def key(tenant: str, request_id: str) -> str:
        return f"{tenant}|{request_id}"

    def apply(self, event: Event) -> None:
        if isinstance(event, MessageDispatched) or (
            isinstance(event, DispatchFailed) and not event.retryable
        ):
            self.finished.add(self.key(event.header.tenant_id, event.request_id))

    def is_finished(self, tenant: str, request_id: str) -> bool:
        return self.key(tenant, request_id) in self.finished


class DispatchAgent:
    """The body of the `dispatch` agent (built by streams/agents/worker.py)."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        channels: Channels,
        *,
        session_for: Callable[[str], str | None] = lambda tenant: None,
    ) -> None:
        self.app = app
        self.channels = channels
        self.settings = settings.dispatch
        self.session_for = session_for
        self.client = WahaClient(
            settings.waha_url, settings.waha_api_key, timeout_s=settings.dispatch.timeout_s
        )
        self.dispatcher = Dispatcher(
            self.client, policy_from(settings.dispatch), on_circuit_change=self._circuit_changed
        )
        self.books: PartitionState[DispatchBook] = PartitionState(
            app,
            "dispatch",
            bootstrap=settings.kafka_bootstrap,
            topics=(DISPATCHES,),
            initial=DispatchBook,
            apply=DispatchBook.apply,
        )
        self._recent: OrderedDict[str, Outcome] = OrderedDict()
        """Outcomes of sends abandoned to a rebalance: if the approval comes back to this worker,
        its result is reused instead of sending the message again."""

    def session_of(self, approved: SendApproved) -> str:
        return (
            approved.session
            or self.session_for(approved.header.tenant_id)
            or (self.settings.session)
        )

    def _circuit_changed(self, session: str, state: str) -> None:
        """A session's breaker changed: to the sensors that count it (`PrometheusSensor`)."""
        for sensor in self.app.sensors:
            if (report := getattr(sensor, "on_circuit_change", None)) is not None:
                report(session, str(state))

    async def run(self, stream: faust.StreamT[Any]) -> None:
        transactions = (
            cast(SourcePartitionTransactions, self.app.consumer.transactions)
            if self.app.in_transaction
            else None
        )
        try:
            async for batch in processing.batches(stream, self.settings.batch, BATCH_WITHIN_S):
                await self._handle(batch, transactions)
        finally:
            await self.client.close()

    async def _handle(
        self, batch: list[processing.Delivered], transactions: SourcePartitionTransactions | None
    ) -> None:
        """Dispatch a batch's approvals concurrently (by chat, `Dispatcher.dispatch_many`) and
        write each outcome as soon as it and every event before it in its partition are done,
        in that partition's transaction (docs/adr/0021)."""
        items: list[_Item] = []
        to_send: list[_Item] = []
        seen: set[str] = set()
        for delivered in batch:
            item = _Item(delivered)
            items.append(item)
            event = delivered.event
            if not isinstance(event, SendApproved):
                continue  # SendRejected: nothing to send
            tenant = event.header.tenant_id
            key = DispatchBook.key(tenant, event.request_id)
            book = await self.books.of(delivered.partition)
            if key in seen or book.is_finished(tenant, event.request_id):
                log.info("dispatch_skipped_already_done", request_id=event.request_id)
                continue
            seen.add(key)
            session = self.session_of(event)
            item.pending = _Pending(event, session, key, self._recent.pop(key, None))
            if item.pending.outcome is None:
                try:
                    item.pending.order = order_for(event, session)
                except ValueError as exc:
                    failure = AttemptFailure(1, False, str(exc))
                    item.pending.outcome = Outcome(0, permanent=failure)
            if item.pending.order is not None:
                item.ended = False
                to_send.append(item)
        if all(item.pending is None for item in items):
            return  # nothing to write: Faust acknowledges the batch as usual
        rebalances = self.app.rebalancing_count

        def moved() -> bool:
            # Faust waits for in-flight events before it revokes partitions or stops, so a long
            # wait must notice a rebalance or a shutdown as soon as it starts.
            return (
                bool(self.app.rebalancing)
                or self.app.rebalancing_count != rebalances
                or bool(self.app.should_stop)
            )

        queues: dict[int, deque[_Item]] = {}
        for item in items:
            queues.setdefault(item.delivered.partition, deque()).append(item)
        if transactions is not None:
            # The whole batch leaves the cut while WAHA is called, not only the approvals sent:
            # a commit must not wait for it. Each event comes back just before its outputs go.
            transactions.release(item.delivered.source.message for item in items)
        if not to_send:
            await self._flush(queues, transactions, moved)
            return
        wake = asyncio.Event()

        def done(index: int, outcome: Outcome | None) -> None:
            item = to_send[index]
            assert item.pending is not None
            item.pending.outcome, item.ended = outcome, True
            wake.set()

        orders = [item.pending.order for item in to_send if item.pending and item.pending.order]
        sending = asyncio.ensure_future(
            self.dispatcher.dispatch_many(orders, abandoned=moved, done=done)
        )
        try:
            while not sending.done():
                await self._flush(queues, transactions, moved)
                woken = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait((sending, woken), return_when=asyncio.FIRST_COMPLETED)
                    if not sending.done():
                        # Let the outcomes finishing together be written together.
                        await asyncio.wait((sending,), timeout=FLUSH_EVERY_S)
                finally:
                    woken.cancel()
                wake.clear()
            await sending  # its error, if any, is the agent's
        finally:
            if not sending.done():
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
        await self._flush(queues, transactions, moved)

    async def _flush(
        self,
        queues: dict[int, deque[_Item]],
        transactions: SourcePartitionTransactions | None,
        moved: Callable[[], bool],
    ) -> None:
        """Write, per partition, the events at the front of its queue that are done (the
        approvals whose dispatch ended, and the events with nothing to send), in their order.

        The committed offset of a partition is one past its highest acknowledged one, so an
        event is acknowledged only with every event before it: a finished approval behind one
        still in flight waits for it, sent but unrecorded."""
        for partition, queue in queues.items():
            ready: list[_Item] = []
            while queue and queue[0].ended:
                ready.append(queue.popleft())
            if not ready:
                continue
            messages = [item.delivered.source.message for item in ready]
            written = False
            if transactions is None:
                written = not moved() and await self._write(partition, ready, None)
            elif not moved():
                admitted = await transactions.admit_all(messages)
                if len(admitted) == len(messages) and not moved():
                    written = await self._write(partition, ready, transactions)
                if written:
                    for message in messages:
                        transactions.acknowledge(message)
                else:
                    # Admitted but not written: out of the cut again, or a commit would wait
                    # for their acknowledgement forever.
                    transactions.release(admitted)
            if not written:
                for item in ready:
                    if item.pending is not None:
                        self._give_up(item.pending, item.delivered, transactions)

    def _give_up(
        self,
        pending: _Pending,
        delivered: processing.Delivered,
        transactions: SourcePartitionTransactions | None,
    ) -> None:
        """Give an approval up: its partition moved away (or is moving), so no commit may cover
        it and its next owner processes it again; a result WAHA gave is kept, for when it comes
        back to this worker."""
        outcome, message = pending.outcome, delivered.source.message
        if outcome is not None:
            self._recent[pending.key] = outcome
            while len(self._recent) > _RECENT_MAX:
                self._recent.popitem(last=False)
        log.warning(
            "dispatch_abandoned",
            request_id=pending.approved.request_id,
            partition=message.tp.partition,
            sent=outcome is not None and outcome.sent is not None,
        )
        if transactions is not None:
            transactions.abandon(message)

    async def _write(
        self,
        partition: int,
        ready: list[_Item],
        transactions: SourcePartitionTransactions | None,
    ) -> bool:
        """Write the outcomes of one partition's finished approvals, in their order, to that
        partition of cobranca.dispatches, in its transaction: one produce batch (the ledger's
        fast path, `send_encoded`) instead of one Faust send per event. False, with nothing
        sent, if a rebalance took the partition meanwhile."""
        if any(item.pending is not None and item.pending.outcome is None for item in ready):
            return False  # abandoned: a rebalance or a stop began; the caller gives them up
        book = await self.books.of(partition)
        now = datetime.now(UTC)
        records: list[tuple[bytes, bytes]] = []
        first = None
        for item in ready:
            pending = item.pending
            if pending is None or pending.outcome is None:
                continue
            first = first or item.delivered.source.message
            key = pending.approved.header.tenant_id.encode()
            for out in outcome_events(pending.approved, pending.session, pending.outcome, now):
                book.apply(out)
                if transactions is None:
                    with processing.handling(item.delivered):
                        await self.channels[DISPATCHES].send(
                            key=key, value=out, partition=partition
                        )
                else:
                    records.append((key, encode(out.to_representation())))
        if transactions is None or first is None:
            return True
        # False: a rebalance took the partition before the sends; none of it may commit (the
        # book, ahead of the log now, was forgotten with the revocation).
        return await transactions.send_encoded(first, DISPATCHES.name, partition, records)


@dataclass(slots=True)
class _Item:
    """One event of a batch: the approval to record, if any, and whether it is done."""

    delivered: processing.Delivered
    pending: _Pending | None = None
    ended: bool = True


@dataclass(slots=True)
class _Pending:
    """One approval of a batch on its way: what to send, and how it ended."""

    approved: SendApproved
    session: str
    key: str
    outcome: Outcome | None = None
    order: SendOrder | None = None
