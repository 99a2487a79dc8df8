"""The ledger on the real broker: exact under SIGKILL, idempotent, and equal to its replay."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.events import OptedOut, SendKind, SendRequested, new_header
from streams.base.topics import DISPATCHES, LEDGER, SEND_DECISIONS
from streams.domain.audit import audit_ledger
from streams.domain.ledger import Charge, LedgerPolicy, decide_send
from streams.runtime.log_reader import read_events
from tests.factories import credit_requested, dispatch_failed, send_requested
from tests.faults import report as fault_report
from tests.kafka_helpers import (
    WorkerProcess,
    count_for,
    end_offsets,
    for_tenant,
    produce,
    read_committed,
    wait_until,
)

pytestmark = pytest.mark.integration

BLOCKED_PHONE = "+5511900000099"


def _tenant() -> str:
    return f"led-{uuid.uuid4().hex[:8]}"


def _requests(tenant: str, n: int, rng: random.Random) -> list[SendRequested]:
    """A realistic mix: texts, files, batches, retried request ids, an opted-out number."""
    requests: list[SendRequested] = []
    for i in range(n):
        roll = rng.random()
        if requests and roll < 0.03:
            requests.append(rng.choice(requests))  # an upstream retry: same request id
            continue
        kind = SendKind.FILE if roll < 0.25 else SendKind.TEXT
        recipients = rng.randint(2, 5) if roll > 0.92 else 1
        phone = BLOCKED_PHONE if roll > 0.98 else f"+55119{i:08d}"
        requests.append(
            send_requested(tenant, f"req-{i}", kind=kind, recipients=recipients, phone=phone)
        )
    return requests


def _expected(requests: list[SendRequested], credit: int) -> tuple[dict[str, int], int]:
    """What the ledger must decide, computed with the same pure rule, in the same order."""
    balance, charges = credit, {}
    now = datetime.now(UTC)
    for request in requests:
        blocked = request.phone_e164 == BLOCKED_PHONE
        decision = decide_send(
            request,
            balance=balance,
            charge=Charge(charges[request.request_id]) if request.request_id in charges else None,
            block=None if not blocked else _opted_out(),
            policy=LedgerPolicy(),
            now=now,
        )
        balance = decision.balance
        if decision.charge is not None:
            charges[request.request_id] = decision.charge.tokens
    return charges, balance


def _opted_out() -> Any:
    from schemas.events import SendRejectReason

    return SendRejectReason.OPTED_OUT


def _opt_out(tenant: str) -> OptedOut:
    return OptedOut(
        header=new_header(
            "OptedOut", tenant_id=tenant, correlation_id="chat", causation_id=None, source="tests"
        ),
        phone_e164=BLOCKED_PHONE,
    )


def test_ledger_is_exact_across_sigkills_and_equals_its_replay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant, credit, total = _tenant(), 5_000, 10_000
    requests = _requests(tenant, total, random.Random(11))
    expected_charges, expected_balance = _expected(requests, credit)
    # The credit (sent twice: one credit id) and the opt-out are decided before any request.
    asyncio.run(
        produce(
            kafka_bootstrap,
            [credit_requested(tenant, credit), credit_requested(tenant, credit), _opt_out(tenant)],
            tenant,
        )
    )
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"ledger-{tenant}")
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) == 1,
            timeout=90,
            what="the credit",
            worker=worker,
        )
        # The requests come in four waves, the next one as each killed worker is started
        # again, so every kill finds work: a worker that decides in fetched batches finished
        # all 10,000 before the third kill, and the wait for more decisions had none to see.
        size = -(-total // 4)
        waves = [requests[i : i + size] for i in range(0, total, size)]
        asyncio.run(produce(kafka_bootstrap, waves[0], tenant))
        rng = random.Random(5)
        for wave in waves[1:]:
            before = end_offsets(kafka_bootstrap, SEND_DECISIONS.name)
            wait_until(
                lambda before=before: end_offsets(kafka_bootstrap, SEND_DECISIONS.name) > before,
                timeout=90,
                what="decisions",
                worker=worker,
            )
            asyncio.run(asyncio.sleep(rng.uniform(0.1, 1.0)))
            worker.kill()
            worker.start()
            asyncio.run(produce(kafka_bootstrap, wave, tenant))
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_DECISIONS.name, tenant) >= total,
            timeout=180,
            what=f"{total} decisions",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(1.0))
    finally:
        worker.stop()

    decisions = for_tenant(
        asyncio.run(read_committed(kafka_bootstrap, SEND_DECISIONS.name)), tenant
    )
    ledger = for_tenant(asyncio.run(read_committed(kafka_bootstrap, LEDGER.name)), tenant)
    approved = [d for d in decisions if d["header"]["event_type"] == "SendApproved"]
    debits = [e for e in ledger if e["header"]["event_type"] == "TokensDebited"]
    credits = [e for e in ledger if e["header"]["event_type"] == "TokensCredited"]

    fault_report(
        "worker_sigkill_ledger",
        [r.request_id for r in requests],
        [d["request_id"] for d in decisions],
        debits=len(debits),
    )
    assert len(decisions) == total, "every request decided exactly once"
    assert len(credits) == 1, "one credit id, credited once"
    debited_ids = Counter(d["request_id"] for d in debits)
    assert [rid for rid, n in debited_ids.items() if n > 1] == [], "no request debited twice"
    assert {d["request_id"]: d["amount"] for d in debits} == {
        a["request_id"]: a["price_tokens"] for a in approved
    }, "every debit matched by one approval at the same price"
    assert sum(d["amount"] for d in debits) == sum(a["price_tokens"] for a in approved)
    assert {d["request_id"]: d["amount"] for d in debits} == expected_charges
    assert all(e.get("balance_after", e.get("balance", 0)) >= 0 for e in ledger)
    rejected = Counter(
        d["reason"] for d in decisions if d["header"]["event_type"] == "SendRejected"
    )
    assert rejected["insufficient_tokens"] > 0 and rejected["duplicate"] > 0
    assert rejected["opted_out"] > 0
    report = _audit(kafka_bootstrap, tenant)
    assert report.violations == []
    assert report.balances[tenant] == expected_balance


def test_a_permanent_failure_refunds_exactly_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    tenant = _tenant()
    asyncio.run(produce(kafka_bootstrap, [credit_requested(tenant, 10)], tenant))
    # A new group reads the shared broker's history first (the 10,000 requests of the test
    # above among it), on a loaded machine that takes a while: the timeouts allow for it.
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"refund-{tenant}")
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) == 1,
            timeout=240,
            what="the credit",
            worker=worker,
        )
        file_send = send_requested(tenant, "r-file", kind=SendKind.FILE)
        asyncio.run(produce(kafka_bootstrap, [file_send], tenant))
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) == 2,
            timeout=240,
            what="the debit",
            worker=worker,
        )
        failures = [
            dispatch_failed(tenant, "r-file", retryable=True),
            dispatch_failed(tenant, "r-file", retryable=False),
            dispatch_failed(tenant, "r-file", retryable=False),  # WAHA's retry, delivered twice
        ]
        asyncio.run(produce(kafka_bootstrap, failures, tenant))
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) == 3,
            timeout=240,
            what="the refund",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(2.0))
    finally:
        worker.stop()
    ledger = for_tenant(asyncio.run(read_committed(kafka_bootstrap, LEDGER.name)), tenant)
    assert [e["header"]["event_type"] for e in ledger] == [
        "TokensCredited",
        "TokensDebited",
        "TokensRefunded",
    ]
    assert ledger[-1]["amount"] == 2 and ledger[-1]["balance_after"] == 10
    report = _audit(kafka_bootstrap, tenant)
    assert report.violations == [] and report.balances[tenant] == 10


def _audit(bootstrap: str, tenant: str) -> Any:
    async def read() -> list[Any]:
        return [
            await read_events(bootstrap, topic.name)
            for topic in (LEDGER, SEND_DECISIONS, DISPATCHES)
        ]

    ledger, decisions, dispatches = asyncio.run(read())
    return audit_ledger(ledger, decisions, dispatches, tenant=tenant)
