"""The dispatcher's retry loop against the simulator: pauses, breaker, backoff, 9th digit."""

from __future__ import annotations

import asyncio
import time

from connectors.waha.client import FileToSend, WahaClient
from connectors.waha.dispatch import Backoff, BreakerState
from connectors.waha.dispatcher import Dispatcher, DispatchPolicy, SendOrder
from connectors.waha.simulator import Simulator, SimulatorConfig

FAST = DispatchPolicy(
    rate_per_s=0,
    backoff=Backoff(base_s=0.01, cap_s=0.05),
    breaker_failures=3,
    breaker_open_s=0.2,
    session_check_s=0.05,
)


def _order(n: int, phone: str = "+5511987654321", **extra: object) -> SendOrder:
    return SendOrder(
        tenant_id="t",
        request_id=f"r{n}",
        session="default",
        phone_e164=phone,
        text=f"mensagem {n}",
        **extra,  # type: ignore[arg-type]
    )


async def _sim(**config: object) -> Simulator:
    sim = Simulator(SimulatorConfig(api_key="k", seed=2, **config))  # type: ignore[arg-type]
    await sim.start()
    return sim


async def test_a_send_goes_once_and_ddd_31_numbers_are_resolved_once() -> None:
    sim = await _sim(engine="NOWEB")
    try:
        async with WahaClient(sim.url, "k") as client:
            dispatcher = Dispatcher(client, FAST)
            first = await dispatcher.dispatch(_order(1, "+5531987654321"))
            second = await dispatcher.dispatch(_order(2, "+5531987654321"))
            pdf = FileToSend("https://example.com/b.pdf", "application/pdf", "b.pdf")
            third = await dispatcher.dispatch(_order(3, file=pdf))
    finally:
        await sim.stop()
    assert first is not None and first.sent is not None and first.attempts == 1
    assert first.sent.chat_id == "553187654321@c.us"
    assert second is not None and second.sent is not None
    assert third is not None and third.sent is not None
    assert sim.stats["check_exists"] == 1
    assert [s.endpoint for s in sim.sends] == ["/api/sendText", "/api/sendText", "/api/sendFile"]
    assert all(s.delivered for s in sim.sends)


async def test_a_number_without_whatsapp_and_a_refused_request_are_permanent() -> None:
    sim = await _sim()
    try:
        async with WahaClient(sim.url, "k") as client:
            dispatcher = Dispatcher(client, FAST)
            no_account = await dispatcher.dispatch(_order(1, "+5531900000000"))
            unknown_session = await dispatcher.dispatch(
                SendOrder("t", "r2", "nope", "+5511987654321", "oi")
            )
    finally:
        await sim.stop()
    assert no_account is not None and no_account.permanent is not None
    assert "no WhatsApp" in no_account.permanent.error and not no_account.permanent.retryable
    assert unknown_session is not None and unknown_session.permanent is not None
    assert unknown_session.permanent.status_code == 404
    assert sim.sends == []


async def test_an_outage_opens_the_circuit_and_recovery_closes_it_without_a_second_send() -> None:
    sim = await _sim()
    sim.faults.fail_sends_until = time.monotonic() + 0.6
    heard: list[tuple[str, BreakerState]] = []
    try:
        async with WahaClient(sim.url, "k") as client:
            dispatcher = Dispatcher(
                client, FAST, on_circuit_change=lambda s, state: heard.append((s, state))
            )
            outcome = await dispatcher.dispatch(_order(1))
    finally:
        await sim.stop()
    assert outcome is not None and outcome.sent is not None
    assert len(sim.sends) == 1
    assert outcome.failures and all(f.retryable and f.status_code == 503 for f in outcome.failures)
    assert outcome.attempts == len(outcome.failures) + 1
    states = [state for _, state in dispatcher.breaker("default").transitions]
    assert BreakerState.OPEN in states
    assert states[-1] is BreakerState.CLOSED
    # The worker's metrics hear every change (cobranca_waha_circuit_open).
    assert heard and heard[-1] == ("default", BreakerState.CLOSED)
    assert ("default", BreakerState.OPEN) in heard


async def test_a_session_that_is_not_working_pauses_sends_until_it_is_back() -> None:
    sim = await _sim()
    sim.set_status("default", "FAILED")
    try:
        async with WahaClient(sim.url, "k") as client:
            dispatcher = Dispatcher(client, FAST)

            async def back_later() -> None:
                await asyncio.sleep(0.4)
                sim.set_status("default", "WORKING")

            task = asyncio.ensure_future(back_later())
            outcome = await dispatcher.dispatch(_order(1))
            await task
    finally:
        await sim.stop()
    assert outcome is not None and outcome.sent is not None
    assert [f.status_code for f in outcome.failures] == [422]
    assert sim.stats["sends_not_working"] == 1  # paused, not retried against a FAILED session
    # WAHA answered, so its circuit never opened.
    assert dispatcher.breaker("default").transitions == []


async def test_an_abandoned_dispatch_returns_nothing() -> None:
    sim = await _sim()
    sim.faults.fail_sends_until = float("inf")
    calls = 0

    def abandoned() -> bool:
        nonlocal calls
        calls += 1
        return calls > 5

    try:
        async with WahaClient(sim.url, "k") as client:
            outcome = await Dispatcher(client, FAST).dispatch(_order(1), abandoned=abandoned)
    finally:
        await sim.stop()
    assert outcome is None and sim.sends == []


async def test_429_waits_for_retry_after() -> None:
    sim = await _sim()
    sim.faults.fail_status = 429
    sim.faults.fail_sends_until = time.monotonic() + 0.3
    try:
        async with WahaClient(sim.url, "k") as client:
            dispatcher = Dispatcher(client, FAST)
            began = time.monotonic()
            outcome = await dispatcher.dispatch(_order(1))
    finally:
        await sim.stop()
    assert outcome is not None and outcome.sent is not None
    assert outcome.failures[0].status_code == 429
    assert time.monotonic() - began >= 1.0  # the simulator asks for Retry-After: 1
    assert dispatcher.breaker("default").transitions == []
