"""The dispatcher on the real broker, with the WAHA simulator as WAHA.

Approvals are produced straight onto cobranca.sends.decided (the ledger's output topic, which
the dispatcher alone consumes); the worker is the real `cobranca worker` process. The
simulator's own record of accepted sends is the proof that nothing was sent twice.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connectors.waha.simulator import SimulatorConfig, SimulatorThread
from connectors.waha.wire import link_key
from schemas.codec import decode
from schemas.events import SendApproved, SendKind, new_header
from streams.base.topics import DISPATCHES, LEDGER, SEND_DECISIONS
from streams.runtime.log_reader import read_topic
from tests.faults import report
from tests.kafka_helpers import (
    WorkerProcess,
    committed_offsets,
    count_for,
    for_tenant,
    produce,
    read_committed,
    wait_until,
)

pytestmark = pytest.mark.integration

API_KEY = "integration-key"


def _tenant() -> str:
    return f"dsp-{uuid.uuid4().hex[:8]}"


def _phone(i: int) -> str:
    # Every fourth number has DDD 31 (Belo Horizonte): its chat id is resolved with check-exists.
    ddd = 31 if i % 4 == 0 else 11
    return f"+55{ddd}98{i:03d}4321"


#: The simulator's directory has no account for numbers ending in 0000.
NO_WHATSAPP = "+5531900000000"


def _approval(tenant: str, i: int, phone: str | None = None) -> SendApproved:
    request_id = f"req-{i}"
    file = i % 5 == 0
    return SendApproved(
        header=new_header(
            "SendApproved",
            tenant_id=tenant,
            correlation_id=request_id,
            causation_id=None,
            source="tests",
        ),
        request_id=request_id,
        client_id=f"c{i}",
        phone_e164=phone or _phone(i),
        kind=SendKind.FILE if file else SendKind.TEXT,
        price_tokens=2 if file else 1,
        balance_after=1000 - i,
        text=f"Olá! Lembrete {tenant} {request_id}",
        file_url="https://example.com/boleto.pdf" if file else None,
        file_mimetype="application/pdf" if file else None,
        file_name="boleto.pdf" if file else None,
    )


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _sends_for(sim_url: str, tenant: str) -> list[dict[str, Any]]:
    """The simulator's accepted sends whose text names `tenant`."""
    return [s for s in _get(f"{sim_url}/_sim/sends")["sends"] if tenant in (s["text"] or "")]


def _all_sends(sim_url: str) -> list[dict[str, Any]]:
    return list(_get(f"{sim_url}/_sim/sends")["sends"])


def _outcomes(bootstrap: str, tenant: str) -> list[dict[str, Any]]:
    return for_tenant(asyncio.run(read_committed(bootstrap, DISPATCHES.name)), tenant)


def _dispatched(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in outcomes if o["header"]["event_type"] == "MessageDispatched"]


def _worker(bootstrap: str, tmp_path: Path, tenant: str, sim: SimulatorThread, **env: str) -> Any:
    return WorkerProcess(
        bootstrap,
        tmp_path,
        app_id=f"dispatch-{tenant}",
        env={"WAHA_URL": sim.url, "WAHA_API_KEY": API_KEY, **env},
    )


async def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offsets `group` has committed on `topic`, by partition."""
    offsets = await committed_offsets(bootstrap, group)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def _log_events(worker: WorkerProcess) -> list[dict[str, Any]]:
    events = []
    for line in worker.log.read_text().splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


@pytest.mark.parametrize("engine", ["NOWEB"])
def test_each_approval_is_dispatched_exactly_once(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    tenant, total = _tenant(), 60
    config = SimulatorConfig(api_key=API_KEY, engine=engine, seed=7)
    with SimulatorThread(config) as sim:
        approvals = [_approval(tenant, i) for i in range(total)]
        approvals.append(_approval(tenant, total, phone=NO_WHATSAPP))
        asyncio.run(produce(kafka_bootstrap, approvals, tenant))
        worker = _worker(kafka_bootstrap, tmp_path, tenant, sim, COBRANCA_DISPATCH_RATE="0")
        worker.start()
        try:
            wait_until(
                lambda: len(_outcomes(kafka_bootstrap, tenant)) >= total + 1,
                timeout=180,
                what=f"{total + 1} outcomes",
                worker=worker,
            )
            asyncio.run(asyncio.sleep(1.0))
        finally:
            worker.stop()
        sends = _sends_for(sim.url, tenant)

    outcomes = _outcomes(kafka_bootstrap, tenant)
    dispatched = _dispatched(outcomes)
    assert Counter(d["request_id"] for d in dispatched) == {f"req-{i}": 1 for i in range(total)}
    # A number without WhatsApp fails for good (the ledger refunds it), after check-exists.
    (failed,) = [o for o in outcomes if o["header"]["event_type"] == "DispatchFailed"]
    assert failed["request_id"] == f"req-{total}" and failed["retryable"] is False
    # WAHA accepted each message once, and MessageDispatched names the message it accepted.
    assert len(sends) == total
    assert {link_key(s["message_id"]) for s in sends} == {d["waha_message_id"] for d in dispatched}
    by_request = {d["request_id"]: d for d in dispatched}
    for i in range(total):
        chat = by_request[f"req-{i}"]["chat_id"]
        digits = _phone(i).lstrip("+")
        # DDD 31: the account id has no 9th digit (the simulator's directory, like WhatsApp's).
        expected = f"{digits[:4]}{digits[5:]}@c.us" if i % 4 == 0 else f"{digits}@c.us"
        assert chat == expected, (i, chat)
    assert all(s["delivered"] for s in sends)
    assert sum(1 for s in sends if s["endpoint"] == "/api/sendFile") == total // 5


@pytest.mark.parametrize("outage_s", [30.0])  # the outage issue 4 names
def test_an_outage_loses_nothing_sends_nothing_twice_and_the_circuit_opens_and_closes(
    kafka_bootstrap: str, tmp_path: Path, outage_s: float
) -> None:
    tenant, total = _tenant(), 30
    config = SimulatorConfig(api_key=API_KEY, engine="GOWS", seed=3)
    with SimulatorThread(config) as sim:
        worker = _worker(
            kafka_bootstrap,
            tmp_path,
            tenant,
            sim,
            COBRANCA_DISPATCH_RATE="20",
            COBRANCA_DISPATCH_BACKOFF_BASE_S="0.2",
            COBRANCA_DISPATCH_BACKOFF_CAP_S="1",
            COBRANCA_DISPATCH_BREAKER_FAILURES="3",
            COBRANCA_DISPATCH_BREAKER_OPEN_S="2",
            COBRANCA_DISPATCH_SESSION_CHECK_S="0.5",
        )
        worker.start()
        try:
            first = [_approval(tenant, i) for i in range(10)]
            asyncio.run(produce(kafka_bootstrap, first, tenant))
            wait_until(
                lambda: len(_dispatched(_outcomes(kafka_bootstrap, tenant))) >= 10,
                timeout=180,
                what="the first 10 MessageDispatched",
                worker=worker,
            )
            # WAHA answers 503 to every send for a while; the approvals keep coming.
            _post(f"{sim.url}/_sim/faults", {"fail_sends_for_s": outage_s, "fail_status": 503})
            asyncio.run(
                produce(kafka_bootstrap, [_approval(tenant, i) for i in range(10, 20)], tenant)
            )
            wait_until(
                lambda: len(_dispatched(_outcomes(kafka_bootstrap, tenant))) >= 20,
                timeout=180,
                what="the approvals sent during the outage",
                worker=worker,
            )
            # Then the session fails and comes back: sends pause instead of failing.
            _post(f"{sim.url}/_sim/sessions/default/status", {"status": "FAILED", "for_s": 3})
            asyncio.run(
                produce(kafka_bootstrap, [_approval(tenant, i) for i in range(20, total)], tenant)
            )
            wait_until(
                lambda: len(_dispatched(_outcomes(kafka_bootstrap, tenant))) >= total,
                timeout=180,
                what=f"all {total} MessageDispatched",
                worker=worker,
            )
            asyncio.run(asyncio.sleep(1.0))
        finally:
            worker.stop()
        sends = _sends_for(sim.url, tenant)
        stats = _get(f"{sim.url}/_sim/stats")["stats"]

    outcomes = _outcomes(kafka_bootstrap, tenant)
    dispatched = _dispatched(outcomes)
    failures = [o for o in outcomes if o["header"]["event_type"] == "DispatchFailed"]
    # Nothing lost, nothing dispatched twice, nothing sent twice.
    report(
        "waha_5xx_30s",
        [f"req-{i}" for i in range(total)],
        [d["request_id"] for d in dispatched],
        waha_sends=len(sends),
    )
    assert Counter(d["request_id"] for d in dispatched) == {f"req-{i}": 1 for i in range(total)}
    assert len(sends) == total
    assert len({s["message_id"] for s in sends}) == total
    # The outage happened and was retried, never given up on.
    assert stats["sends_failed"] >= 3
    assert failures and all(f["retryable"] for f in failures)
    assert {f["status_code"] for f in failures} <= {503, 422}
    # The circuit opened during the outage and closed after it.
    log = [e.get("event") for e in _log_events(worker)]
    assert "circuit_opened" in log, log[-20:]
    assert "circuit_closed" in log[log.index("circuit_opened") :], log[-20:]
    # The failed session paused its sends (a 422 each time a send found it not WORKING).
    assert "session_paused" in log or stats.get("sends_not_working", 0) == 0


@pytest.mark.parametrize(
    "total",
    [pytest.param(48, id="short"), pytest.param(400, id="long", marks=pytest.mark.chaos)],
)
def test_a_slow_waha_keeps_sends_in_flight_loses_nothing_and_keeps_the_circuit_closed(
    kafka_bootstrap: str, tmp_path: Path, total: int
) -> None:
    """Issue 16 §5: WAHA answers every call in about 2 s (1 to 3 s, jittered), under the
    client's timeout (WAHA_TIMEOUT_S, 10 s). A slow answer is an answer (ADR 0006: only 5xx,
    timeouts and network errors count for the breaker), so the circuit stays closed; the
    in-flight window (ADR 0021: `COBRANCA_DISPATCH_PER_SESSION` sends of a session at a time,
    one lane per chat) keeps several sends waiting on WAHA at once instead of one after the
    other; every approval is dispatched once and WAHA accepts each message once."""
    tenant, in_flight, latency_s = _tenant(), 8, 2.0
    config = SimulatorConfig(api_key=API_KEY, engine="NOWEB", seed=19)
    with SimulatorThread(config) as sim:
        _post(f"{sim.url}/_sim/faults", {"latency_ms": latency_s * 1000})
        approvals = [_chat_approval(tenant, i, i) for i in range(total)]  # a chat each
        worker = _worker(
            kafka_bootstrap,
            tmp_path,
            tenant,
            sim,
            COBRANCA_DISPATCH_RATE="0",
            COBRANCA_DISPATCH_BATCH="64",
            COBRANCA_DISPATCH_PER_SESSION=str(in_flight),
            WAHA_TIMEOUT_S="10",
        )
        worker.start()
        try:
            asyncio.run(produce(kafka_bootstrap, approvals[:1], tenant))
            wait_until(
                lambda: len(_outcomes(kafka_bootstrap, tenant)) >= 1,
                timeout=180,
                what="the first outcome (the worker is up)",
                worker=worker,
            )
            began = time.monotonic()
            asyncio.run(produce(kafka_bootstrap, approvals[1:], tenant))
            wait_until(
                lambda: len(_outcomes(kafka_bootstrap, tenant)) >= total,
                timeout=60 + total * latency_s,
                what=f"{total} outcomes with WAHA slow",
                worker=worker,
            )
            took = time.monotonic() - began
            asyncio.run(asyncio.sleep(1.0))
        finally:
            worker.stop()
        sends = _sends_for(sim.url, tenant)
        stats = _get(f"{sim.url}/_sim/stats")["stats"]

    outcomes = _outcomes(kafka_bootstrap, tenant)
    dispatched = _dispatched(outcomes)
    report(
        "waha_slow_2s",
        [f"req-{i}" for i in range(total)],
        [d["request_id"] for d in dispatched],
        waha_sends=len(sends),
        seconds=round(took, 1),
        serial_seconds=round((total - 1) * latency_s, 1),
    )
    assert len(outcomes) == total  # no DispatchFailed: a slow answer is not a failure
    assert len(sends) == total and len({s["message_id"] for s in sends}) == total
    assert stats.get("sends_failed", 0) == 0
    # The window kept several sends at WAHA at once: one at a time would take about
    # (total - 1) * 2 s; allow for a loaded machine, but not for sending one by one.
    assert took < (total - 1) * latency_s / 2, (took, total)
    log = [e.get("event") for e in _log_events(worker)]
    assert "circuit_opened" not in log, log[-20:]


def test_a_worker_stopped_while_waha_is_down_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The whole path from the ledger: requests are approved while WAHA is unreachable (the
    ledger keeps committing), the worker stops with an approval held, and the next worker sends
    every approval once WAHA is up."""
    from tests.factories import credit_requested, send_requested

    tenant, total = _tenant(), 12
    requests = [send_requested(tenant, f"q{i}", phone=_phone(i)) for i in range(total)]
    # Credits and sends are different topics: the requests go in once the credit is applied,
    # or the ledger may rightly reject the first ones for want of tokens.
    asyncio.run(produce(kafka_bootstrap, [credit_requested(tenant, 100)], tenant))
    with SimulatorThread(SimulatorConfig(api_key=API_KEY, seed=9)) as sim:
        down = WorkerProcess(
            kafka_bootstrap,
            tmp_path / "down",
            app_id=f"dispatch-{tenant}",
            env={
                "WAHA_URL": "http://127.0.0.1:9",  # nothing listens on the discard port
                "WAHA_API_KEY": API_KEY,
                "COBRANCA_DISPATCH_BREAKER_OPEN_S": "2",
            },
        )
        down.start()
        try:
            wait_until(
                lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) >= 1,
                timeout=180,
                what="the credit",
                worker=down,
            )
            asyncio.run(produce(kafka_bootstrap, requests, tenant))
            wait_until(
                lambda: count_for(kafka_bootstrap, SEND_DECISIONS.name, tenant) >= total,
                timeout=180,
                what="the ledger's approvals while WAHA is down",
                worker=down,
            )
        finally:
            down.stop()
        assert down.proc is not None and down.proc.returncode == 0  # a clean stop, not a kill
        assert _outcomes(kafka_bootstrap, tenant) == []
        # The stopped worker's commit on the approvals' partition stops at the first one.
        approval_records = [
            r
            for r in asyncio.run(read_topic(kafka_bootstrap, SEND_DECISIONS.name))
            if r.value is not None
            and (header := decode(r.value)["header"])["tenant_id"] == tenant
            and header["event_type"] == "SendApproved"
        ]
        assert len(approval_records) == total
        first = min(approval_records, key=lambda r: r.offset)
        committed = asyncio.run(
            _committed(kafka_bootstrap, f"dispatch-{tenant}", SEND_DECISIONS.name)
        )
        assert committed.get(first.partition, 0) <= first.offset, (
            committed,
            [(r.partition, r.offset) for r in approval_records],
        )
        up = _worker(kafka_bootstrap, tmp_path / "up", tenant, sim, COBRANCA_DISPATCH_RATE="0")
        up.env["COBRANCA_APP_ID"] = f"dispatch-{tenant}"  # the same group: it resumes
        up.start()
        try:
            wait_until(
                lambda: len(_dispatched(_outcomes(kafka_bootstrap, tenant))) >= total,
                timeout=180,
                what=f"{total} MessageDispatched after WAHA came back",
                worker=up,
            )
            asyncio.run(asyncio.sleep(1.0))
        finally:
            up.stop()
        sends = _all_sends(sim.url)  # this simulator served this test alone
    dispatched = _dispatched(_outcomes(kafka_bootstrap, tenant))
    approvals = {
        d["request_id"]
        for d in for_tenant(
            asyncio.run(read_committed(kafka_bootstrap, SEND_DECISIONS.name)), tenant
        )
        if d["header"]["event_type"] == "SendApproved"
    }
    assert len(approvals) == total
    assert Counter(d["request_id"] for d in dispatched) == dict.fromkeys(approvals, 1)
    assert len(sends) == total


def _chat_approval(tenant: str, i: int, chat: int) -> SendApproved:
    approved = _approval(tenant, i, phone=f"+5511{97000000 + chat * 1000 + len(tenant):08d}")
    return approved


def test_approvals_in_flight_keep_each_chats_order_and_go_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """docs/adr/0021: a worker keeps a batch of approvals in flight, one lane per chat. Three
    tenants (three partitions' worth of keys), eight chats each, 40 approvals per tenant: every
    approval has one outcome, WAHA took each message once, and every chat got its messages in
    the order they were approved."""
    tenants = [_tenant() for _ in range(3)]
    per_tenant, chats = 40, 8
    with SimulatorThread(SimulatorConfig(api_key=API_KEY, engine="NOWEB", seed=11)) as sim:
        for tenant in tenants:
            approvals = [_chat_approval(tenant, i, i % chats) for i in range(per_tenant)]
            asyncio.run(produce(kafka_bootstrap, approvals, tenant))
        worker = _worker(
            kafka_bootstrap,
            tmp_path,
            tenants[0],
            sim,
            COBRANCA_DISPATCH_RATE="0",
            COBRANCA_DISPATCH_BATCH="32",
            COBRANCA_DISPATCH_PER_SESSION="4",
        )
        worker.start()
        try:
            for tenant in tenants:
                wait_until(
                    lambda tenant=tenant: len(_outcomes(kafka_bootstrap, tenant)) >= per_tenant,
                    timeout=180,
                    what=f"{per_tenant} outcomes of {tenant}",
                    worker=worker,
                )
            asyncio.run(asyncio.sleep(1.0))
        finally:
            worker.stop()
        sends = {tenant: _sends_for(sim.url, tenant) for tenant in tenants}

    for tenant in tenants:
        dispatched = _dispatched(_outcomes(kafka_bootstrap, tenant))
        assert Counter(d["request_id"] for d in dispatched) == {
            f"req-{i}": 1 for i in range(per_tenant)
        }
        assert len(sends[tenant]) == per_tenant
        for chat in range(chats):
            in_chat = [
                s["text"]
                for s in sends[tenant]
                if f"{97000000 + chat * 1000 + len(tenant):08d}" in s["chat_id"]
            ]
            expected = [
                f"Olá! Lembrete {tenant} req-{i}" for i in range(per_tenant) if i % chats == chat
            ]
            assert in_chat == expected, (tenant, chat)


def test_a_worker_killed_with_approvals_in_flight_records_each_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """SIGKILL while a batch is in flight, then a new worker in the same group: every approval
    ends with exactly one MessageDispatched on the log. WAHA sends stay at-least-once: the
    messages sent but not yet committed at the kill go again, at most what was in flight."""
    tenant, total, in_flight = _tenant(), 200, 8
    with SimulatorThread(SimulatorConfig(api_key=API_KEY, engine="GOWS", seed=13)) as sim:
        asyncio.run(
            produce(
                kafka_bootstrap, [_chat_approval(tenant, i, i % 50) for i in range(total)], tenant
            )
        )
        env = {
            "COBRANCA_DISPATCH_RATE": "40",
            "COBRANCA_DISPATCH_BATCH": "64",
            "COBRANCA_DISPATCH_PER_SESSION": str(in_flight),
        }
        first = _worker(kafka_bootstrap, tmp_path / "first", tenant, sim, **env)
        first.start()
        try:
            wait_until(
                lambda: len(_dispatched(_outcomes(kafka_bootstrap, tenant))) >= 40,
                timeout=180,
                what="40 MessageDispatched before the kill",
                worker=first,
            )
        finally:
            first.kill()
        # What may go twice: the messages WAHA accepted from the first worker whose outcome was
        # not committed when it died (the killed transaction is aborted, so read_committed
        # shows exactly the committed ones).
        unrecorded = len(_sends_for(sim.url, tenant)) - len(
            _dispatched(_outcomes(kafka_bootstrap, tenant))
        )
        second = _worker(kafka_bootstrap, tmp_path / "second", tenant, sim, **env)
        second.start()
        try:
            wait_until(
                lambda: len(_dispatched(_outcomes(kafka_bootstrap, tenant))) >= total,
                timeout=180,
                what=f"all {total} MessageDispatched after the kill",
                worker=second,
            )
            asyncio.run(asyncio.sleep(1.0))
        finally:
            second.stop()
        sends = _sends_for(sim.url, tenant)

    dispatched = _dispatched(_outcomes(kafka_bootstrap, tenant))
    texts = Counter(s["text"] for s in sends)
    again = sum(n - 1 for n in texts.values())
    report(
        "dispatch_worker_sigkill",
        [f"req-{i}" for i in range(total)],
        [d["request_id"] for d in dispatched],
        waha_resent=again,
        waha_resent_bound=unrecorded,
    )
    assert Counter(d["request_id"] for d in dispatched) == {f"req-{i}": 1 for i in range(total)}
    assert set(texts) == {f"Olá! Lembrete {tenant} req-{i}" for i in range(total)}
    # Only messages sent but not recorded at the kill go again: those in flight and those of
    # the last commit interval (measured, not assumed: a loaded machine stretches the interval).
    assert again <= unrecorded, (again, unrecorded)
    # Each MessageDispatched names a message WAHA accepted.
    assert {d["waha_message_id"] for d in dispatched} <= {link_key(s["message_id"]) for s in sends}


def test_a_rebalance_with_approvals_in_flight_records_each_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A second worker joins the group while the first has approvals in flight, then leaves:
    two rebalances. Every approval still ends with exactly one MessageDispatched. A message sent
    but not yet committed when its partition moved is kept by its worker and recorded without
    a second send if the approval comes back to it; if it goes to the other worker, that one
    sends it again (WAHA sends are at-least-once): at most what was in flight, per rebalance."""
    tenants = [_tenant() for _ in range(3)]
    per_tenant, in_flight = 60, 4
    env = {
        "COBRANCA_DISPATCH_RATE": "20",
        "COBRANCA_DISPATCH_BATCH": "32",
        "COBRANCA_DISPATCH_PER_SESSION": str(in_flight),
    }
    with SimulatorThread(SimulatorConfig(api_key=API_KEY, engine="NOWEB", seed=17)) as sim:
        for tenant in tenants:
            approvals = [_chat_approval(tenant, i, i % 10) for i in range(per_tenant)]
            asyncio.run(produce(kafka_bootstrap, approvals, tenant))

        def done() -> int:
            return sum(len(_dispatched(_outcomes(kafka_bootstrap, t))) for t in tenants)

        first = _worker(kafka_bootstrap, tmp_path / "first", tenants[0], sim, **env)
        second = _worker(kafka_bootstrap, tmp_path / "second", tenants[0], sim, **env)
        first.start()
        try:
            wait_until(lambda: done() >= 20, timeout=180, what="20 outcomes", worker=first)
            second.start()
            wait_until(lambda: done() >= 80, timeout=180, what="80 outcomes", worker=first)
            second.stop()
            wait_until(
                lambda: done() >= per_tenant * len(tenants),
                timeout=180,
                what="every outcome",
                worker=first,
            )
            asyncio.run(asyncio.sleep(1.0))
        finally:
            second.stop()
            first.stop()
        sends = {tenant: _sends_for(sim.url, tenant) for tenant in tenants}

    again = 0
    for tenant in tenants:
        dispatched = _dispatched(_outcomes(kafka_bootstrap, tenant))
        assert Counter(d["request_id"] for d in dispatched) == {
            f"req-{i}": 1 for i in range(per_tenant)
        }
        texts = Counter(s["text"] for s in sends[tenant])
        assert set(texts) == {f"Olá! Lembrete {tenant} req-{i}" for i in range(per_tenant)}
        again += sum(n - 1 for n in texts.values())
    # Two rebalances, each at most the sends in flight and those of a commit interval.
    assert again <= 2 * (in_flight + 20 * 0.2 + 2), again
