"""Sending one approved message through WAHA, following the dispatch policies.

`Dispatcher.dispatch(order)` keeps trying until WAHA accepts the message or refuses it for good:

- a session whose status is not WORKING (WAHA's 422) is paused: its status is read every
  `session_check_s` and sends wait until it is WORKING again, without spending attempts;
- a session's circuit opens after `breaker_failures` consecutive transient failures (5xx,
  timeouts, network errors, 401) and stays open `breaker_open_s`, then lets one trial through;
- transient failures back off exponentially with jitter; a 429 waits what `Retry-After` says;
- a 4xx other than 401, 422-not-working and 429, or a number without WhatsApp, is permanent;
- Brazilian mobiles with DDD >= 31 get their chat id from `contacts/check-exists`, once per
  number; sends are spaced per session (`rate_per_s` with jitter), optionally after "typing...".

The caller decides what a failure is worth recording (`Outcome.failures`) and may abandon the
wait (`abandoned`, checked at least once a second), e.g. when its Kafka partition moved away.
No Kafka here; streams/agents/dispatch.py wraps it in an agent.

`Dispatcher.dispatch_many(orders)` dispatches a batch concurrently: one lane per chat, each
lane's orders one after the other in the batch's order, at most `per_session` sends of one
session in flight (connectors/waha/dispatch/lanes.py; docs/adr/0021). The session's pacing,
breaker and pause are shared by its lanes, so concurrency never sends faster than `rate_per_s`.

401 is held like a transient failure although the issue lists it with the permanent 4xx: a
wrong WAHA_API_KEY refuses every send, and refunding the whole queue for a configuration typo
is worse than waiting for the operator to fix the key (docs/adr/0006).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from connectors.waha.client import ContactCheck, FileToSend, SentMessage, SessionInfo
from connectors.waha.dispatch import (
    Backoff,
    BreakerState,
    ChatIdMemo,
    CircuitBreaker,
    SessionGate,
    SessionRateLimiter,
    lanes,
)
from connectors.waha.errors import (
    WahaCallError,
    WahaPermanentError,
    WahaRateLimited,
    WahaSessionNotWorking,
    WahaTransientError,
    WahaUnauthorized,
)

__all__ = [
    "AttemptFailure",
    "DispatchPolicy",
    "Dispatcher",
    "Outcome",
    "SendOrder",
    "WahaApi",
]

log = structlog.get_logger(__name__)


class WahaApi(Protocol):
    """What the dispatcher needs of WAHA (`connectors.waha.client.WahaClient`)."""

    async def send_text(self, session: str, chat_id: str, text: str) -> SentMessage: ...

    async def send_file(
        self, session: str, chat_id: str, file: FileToSend, caption: str | None = None
    ) -> SentMessage: ...

    async def start_typing(self, session: str, chat_id: str) -> None: ...

    async def stop_typing(self, session: str, chat_id: str) -> None: ...

    async def check_exists(self, session: str, phone: str) -> ContactCheck: ...

    async def session_info(self, session: str) -> SessionInfo: ...


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """The knobs (see streams.base.settings.DispatchSettings for their environment variables)."""

    rate_per_s: float = 1.0
    jitter: float = 0.2
    backoff: Backoff = field(default_factory=Backoff)
    breaker_failures: int = 5
    breaker_open_s: float = 30.0
    session_check_s: float = 5.0
    typing_s: float = 0.0
    per_session: int = 16
    """Sends of one session in flight at once in `dispatch_many` (different chats)."""


@dataclass(frozen=True, slots=True)
class SendOrder:
    """One message to send: what SendApproved says, with the session chosen."""

    tenant_id: str
    request_id: str
    session: str
    phone_e164: str
    text: str | None = None
    file: FileToSend | None = None
    """Set for file sends; `text` is then the caption."""


@dataclass(frozen=True, slots=True)
class AttemptFailure:
    """One failed call, as DispatchFailed records it."""

    attempt: int
    retryable: bool
    error: str
    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a dispatch ended: `sent`, or `permanent`; `failures` are the retried ones before."""

    attempts: int
    """Send calls made (check-exists and status reads are not counted)."""
    sent: SentMessage | None = None
    permanent: AttemptFailure | None = None
    failures: tuple[AttemptFailure, ...] = ()


class Dispatcher:
    """Dispatches orders (one, or a batch concurrently by chat); keeps per-session pacing,
    breakers and pauses."""

    def __init__(
        self,
        api: WahaApi,
        policy: DispatchPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        max_failures_kept: int = 20,
        on_circuit_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self.api = api
        self.on_circuit_change = on_circuit_change
        """Hears every change of a session's breaker (the worker's metrics)."""
        self.policy = policy or DispatchPolicy()
        self.clock = clock
        self._sleep = sleep
        self.rng = rng or random.Random()
        self.limiter = SessionRateLimiter(self.policy.rate_per_s, self.policy.jitter, self.rng)
        self.gate = SessionGate(self.policy.session_check_s)
        self.chat_ids = ChatIdMemo()
        self.breakers: dict[str, CircuitBreaker] = {}
        self.max_failures_kept = max_failures_kept
        self._in_flight: dict[str, asyncio.Semaphore] = {}
        if self.policy.per_session < 1:
            raise ValueError(f"per_session {self.policy.per_session} must be >= 1")

    def _slots(self, session: str) -> asyncio.Semaphore:
        slots = self._in_flight.get(session)
        if slots is None:
            slots = asyncio.Semaphore(self.policy.per_session)
            self._in_flight[session] = slots
        return slots

    async def dispatch_many(
        self,
        orders: Sequence[SendOrder],
        *,
        abandoned: Callable[[], bool] = lambda: False,
        waiting: Callable[[], None] = lambda: None,
        done: Callable[[int, Outcome | None], None] = lambda index, outcome: None,
    ) -> list[Outcome | None]:
        """Dispatch `orders` concurrently, one lane per chat (`lanes`), at most
        `policy.per_session` of one session at a time; the outcomes in the orders' order.

        Within a lane an order starts only after the one before it ended, so a chat receives
        its messages in the batch's order; an order after one that was abandoned (None) is not
        sent either. A failure, even a permanent one, does not stop the others. `done(index,
        outcome)` is called once per order as soon as it has ended (None: abandoned), so the
        caller can record outcomes while the rest are in flight."""
        outcomes: list[Outcome | None] = [None] * len(orders)

        async def run(lane: list[int]) -> None:
            for n, index in enumerate(lane):
                order = orders[index]
                async with self._slots(order.session):
                    outcome = await self.dispatch(order, abandoned=abandoned, waiting=waiting)
                outcomes[index] = outcome
                done(index, outcome)
                if outcome is None:
                    # Abandoned: the chat's later messages must not overtake it.
                    for later in lane[n + 1 :]:
                        done(later, None)
                    return

        grouped = lanes(orders)
        if len(grouped) == 1:
            await run(grouped[0])
            return outcomes
        try:
            # A lane that fails unexpectedly cancels the others: nothing is left sending.
            async with asyncio.TaskGroup() as group:
                for lane in grouped:
                    group.create_task(run(lane))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from failed
        return outcomes

    def breaker(self, session: str) -> CircuitBreaker:
        breaker = self.breakers.get(session)
        if breaker is None:
            breaker = CircuitBreaker(self.policy.breaker_failures, self.policy.breaker_open_s)
            self.breakers[session] = breaker
        return breaker

    async def _wait(
        self, seconds: float, abandoned: Callable[[], bool], waiting: Callable[[], None]
    ) -> bool:
        """Sleep up to `seconds` in steps of at most 1 s; False if abandoned meanwhile."""
        waiting()
        end = self.clock() + seconds
        while True:
            if abandoned():
                return False
            left = end - self.clock()
            if left <= 0:
                return True
            await self._sleep(min(left, 1.0))

    def _log_change(self, session: str, breaker: CircuitBreaker, before: BreakerState) -> None:
        # Operators want to see these: an open circuit means WAHA is failing for the session.
        if breaker.state is before:
            return
        if self.on_circuit_change is not None:
            self.on_circuit_change(session, breaker.state)
        if breaker.state is BreakerState.OPEN:
            log.warning("circuit_opened", session=session, times_opened=breaker.times_opened)
        elif breaker.state is BreakerState.CLOSED:
            log.warning("circuit_closed", session=session)
        else:
            log.info("circuit_half_open", session=session)

    async def _chat_id(self, order: SendOrder) -> str | None:
        """The chat to send to; None if the number has no WhatsApp."""
        known, chat_id = self.chat_ids.lookup(order.phone_e164)
        if not known:
            check = await self.api.check_exists(order.session, order.phone_e164)
            chat_id = check.chat_id if check.exists else None
            self.chat_ids.remember(order.phone_e164, chat_id)
        return chat_id

    async def _send(self, order: SendOrder, chat_id: str) -> SentMessage:
        if order.file is not None:
            return await self.api.send_file(order.session, chat_id, order.file, order.text)
        return await self.api.send_text(order.session, chat_id, order.text or "")

    async def dispatch(
        self,
        order: SendOrder,
        *,
        abandoned: Callable[[], bool] = lambda: False,
        waiting: Callable[[], None] = lambda: None,
    ) -> Outcome | None:
        """Send `order`; None if `abandoned()` became true before it was done. `waiting()` is
        called whenever the dispatch starts waiting (backoff, open circuit, paused session)."""
        session = order.session
        breaker = self.breaker(session)
        attempts = 0
        failures_in_row = 0
        failures: list[AttemptFailure] = []

        def failure(exc: WahaCallError, retryable: bool) -> AttemptFailure:
            recorded = AttemptFailure(max(attempts, 1), retryable, str(exc)[:1000], exc.status)
            if retryable and len(failures) < self.max_failures_kept:
                failures.append(recorded)
            return recorded

        def ended(
            permanent: AttemptFailure | None = None, sent: SentMessage | None = None
        ) -> Outcome:
            return Outcome(attempts, sent=sent, permanent=permanent, failures=tuple(failures))

        while True:
            if abandoned():
                return None
            if not self.gate.is_open(session):
                wait = self.gate.check_in(session, self.clock())
                if wait > 0:
                    if not await self._wait(wait, abandoned, waiting):
                        return None
                    continue
                try:
                    info = await self.api.session_info(session)
                except WahaTransientError:
                    self.gate.pause(session, self.gate.status(session), self.clock())
                    continue
                except WahaPermanentError as exc:
                    return ended(failure(exc, False))
                self.gate.observe(session, info.status, self.clock())
                if self.gate.is_open(session):
                    log.info("session_resumed", session=session)
                continue
            before = breaker.state
            wait = breaker.wait_s(self.clock())
            self._log_change(session, breaker, before)
            if wait > 0:
                if not await self._wait(wait, abandoned, waiting):
                    return None
                continue
            before = breaker.state
            try:
                chat_id = await self._chat_id(order)
                if chat_id is None:
                    breaker.record_success(self.clock())
                    self._log_change(session, breaker, before)
                    return ended(
                        AttemptFailure(
                            max(attempts, 1),
                            False,
                            "the number has no WhatsApp account "
                            "(contacts/check-exists answered numberExists false)",
                        )
                    )
                pause = self.limiter.reserve(session, self.clock())
                if pause > 0:
                    await self._sleep(pause)
                if self.policy.typing_s > 0:
                    await self.api.start_typing(session, chat_id)
                    await self._sleep(self.policy.typing_s)
                    await self.api.stop_typing(session, chat_id)
                attempts += 1
                sent = await self._send(order, chat_id)
            except WahaSessionNotWorking as exc:
                breaker.record_success(self.clock())  # WAHA answered: it is up
                self._log_change(session, breaker, before)
                failure(exc, True)
                status = exc.session_status or "UNKNOWN"
                log.warning("session_paused", session=session, status=status)
                self.gate.pause(session, status, self.clock())
                continue
            except WahaRateLimited as exc:
                breaker.release()
                failure(exc, True)
                failures_in_row += 1
                delay = self.policy.backoff.delay(
                    failures_in_row, self.rng, retry_after=exc.retry_after
                )
            except (WahaTransientError, WahaUnauthorized) as exc:
                breaker.record_failure(self.clock())
                self._log_change(session, breaker, before)
                failure(exc, True)
                failures_in_row += 1
                delay = self.policy.backoff.delay(failures_in_row, self.rng)
            except WahaPermanentError as exc:
                breaker.record_success(self.clock())
                self._log_change(session, breaker, before)
                return ended(failure(exc, False))
            else:
                breaker.record_success(self.clock())
                self._log_change(session, breaker, before)
                return ended(sent=sent)
            if not await self._wait(delay, abandoned, waiting):
                return None
