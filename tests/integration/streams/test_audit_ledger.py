"""`cobranca audit ledger` on the real broker: a clean ledger passes, and a copy of the ledger
topic with one record rewritten is reported with that record's offset."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.codec import decode, encode
from schemas.events import SendKind
from streams.base.topics import LEDGER
from streams.runtime.log_reader import read_topic
from streams.runtime.producer import EventProducer
from tests.factories import credit_requested, send_requested
from tests.kafka_helpers import TEST_PARTITIONS, WorkerProcess, count_for, wait_until

pytestmark = pytest.mark.integration


def _audit(bootstrap: str, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", "audit", "ledger", *args],
        env={**os.environ, "COBRANCA_KAFKA_BOOTSTRAP": bootstrap},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.returncode, json.loads(done.stdout)


async def _copy_with_one_edit(bootstrap: str, source: str, target: str, tenant: str) -> int:
    """Copy `source` into `target` partition by partition; the tenant's first debit gets a
    smaller amount (as a hand edit would), keeping its hash. Returns the edited offset."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(target, TEST_PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    edited_offset = -1
    try:
        for record in await read_topic(bootstrap, source):
            value = record.value
            assert value is not None
            event = decode(value)
            is_target = (
                edited_offset < 0
                and event["header"]["tenant_id"] == tenant
                and event["header"]["event_type"] == "TokensDebited"
            )
            if is_target:
                event["amount"] = event["amount"] - 1
                value = encode(event)
            sent = await producer.send_and_wait(
                target, value, key=record.key, partition=record.partition
            )
            if is_target:
                edited_offset = sent.offset
    finally:
        await producer.stop()
    return edited_offset


def test_audit_passes_a_clean_ledger_and_finds_a_hand_edit(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = f"aud-{uuid.uuid4().hex[:8]}"

    async def produce(events: list[Any]) -> None:
        async with EventProducer(kafka_bootstrap) as producer:
            await producer.send_many((event, tenant) for event in events)

    # Credits and sends are different topics: the ledger orders a tenant's events within a
    # topic only, so the sends go once the credit is in.
    asyncio.run(produce([credit_requested(tenant, 20)]))
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"audit-{tenant}")
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) == 1,
            timeout=120,
            what="the credit",
            worker=worker,
        )
        asyncio.run(
            produce([send_requested(tenant, f"r{i}", kind=SendKind.FILE) for i in range(4)])
        )
        wait_until(
            lambda: count_for(kafka_bootstrap, LEDGER.name, tenant) == 5,
            timeout=120,
            what="one credit and four debits",
            worker=worker,
        )
    finally:
        worker.stop()

    status, report = _audit(kafka_bootstrap, "--tenant", tenant)
    assert status == 0, report["violations"]
    assert report["balances"][tenant]["balance"] == 20 - 4 * 2
    assert len(report["balances"][tenant]["chain_head"]) == 64
    _assert_balance_commands_agree(kafka_bootstrap, tenant, 20 - 4 * 2)

    copy = f"ledger-copy-{uuid.uuid4().hex[:8]}"
    offset = asyncio.run(_copy_with_one_edit(kafka_bootstrap, LEDGER.name, copy, tenant))
    status, report = _audit(kafka_bootstrap, "--tenant", tenant, "--ledger-topic", copy)
    assert status == 1
    found = {(v["rule"], v["topic"], v["offset"]) for v in report["violations"]}
    assert ("hash_chain", copy, offset) in found
    assert report["balances"][tenant]["balance"] == 20 - 4 * 2 + 1


def _assert_balance_commands_agree(bootstrap: str, tenant: str, balance: int) -> None:
    """`tokens balance` in text and in JSON: the same integer the audit replays."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streams.ops.cli", "--bootstrap", bootstrap, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    text = run("tokens", "balance", tenant)
    as_json = run("tokens", "balance", tenant, "--json")
    assert text.returncode == as_json.returncode == 0, as_json.stderr
    assert text.stdout == f"{tenant}: {balance} tokens\n"
    assert json.loads(as_json.stdout) == {"tenant": tenant, "balance": balance}
