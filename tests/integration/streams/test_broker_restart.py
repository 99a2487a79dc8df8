"""The worker across a broker restart: the ledger's decisions stay exactly once.

The broker of this test is its own (it is stopped mid-stream). A worker that cannot reach the
broker may keep retrying or may exit; in production a supervisor (compose's `restart:`)
starts it again, and so does this test. Either way every request is decided once, and debited
once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.kafka.broker import LocalBroker
from streams.base.settings import cache_home
from streams.base.topics import LEDGER, SEND_DECISIONS
from streams.runtime.topic_admin import create_topics
from tests.factories import credit_requested, send_requested
from tests.faults import report
from tests.kafka_helpers import (
    TEST_PARTITIONS,
    WorkerProcess,
    count_for,
    end_offsets,
    for_tenant,
    produce,
    read_committed,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    broker = LocalBroker.on_free_ports(cache=cache_home(), home=tmp_path / "kafka")
    broker.start(timeout=90)
    try:
        asyncio.run(create_topics(broker.bootstrap, TEST_PARTITIONS))
        yield broker
    finally:
        broker.stop()


def test_a_broker_restart_mid_stream_decides_every_request_once(
    broker: LocalBroker, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap
    tenant, total, after = f"rst-{uuid.uuid4().hex[:8]}", 12_000, 2_000
    asyncio.run(produce(bootstrap, [credit_requested(tenant, 10 * total)], tenant))
    worker = WorkerProcess(bootstrap, tmp_path / "worker", app_id=f"restart-{tenant}")
    worker.start()
    restarts = 0

    def decided_all() -> bool:
        """Whether every request is decided; a worker that exited is started again first, as
        a supervisor would."""
        nonlocal restarts
        assert worker.proc is not None
        if worker.proc.poll() is not None:
            restarts += 1
            worker.start()
        return count_for(bootstrap, SEND_DECISIONS.name, tenant) >= total

    try:
        wait_until(
            lambda: count_for(bootstrap, LEDGER.name, tenant) == 1,
            timeout=120,
            what="the credit",
            worker=worker,
        )
        requests = [send_requested(tenant, f"r{i}", phone=f"+55119{i:08d}") for i in range(total)]
        asyncio.run(produce(bootstrap, requests[:-after], tenant))
        wait_until(
            lambda: end_offsets(bootstrap, SEND_DECISIONS.name) > 0,
            timeout=120,
            what="the first decisions",
            worker=worker,
        )
        assert broker.stop()  # mid-stream: transactions open, requests waiting
        time.sleep(5)  # long enough for the worker's requests and heartbeats to fail
        broker.start(timeout=90)
        asyncio.run(produce(bootstrap, requests[-after:], tenant))
        wait_until(
            decided_all,
            timeout=300,
            what=f"{total} decisions after the restart",
        )
        time.sleep(1.0)  # anything decided twice would show up now
    finally:
        worker.stop()

    decisions = for_tenant(asyncio.run(read_committed(bootstrap, SEND_DECISIONS.name)), tenant)
    ledger = for_tenant(asyncio.run(read_committed(bootstrap, LEDGER.name)), tenant)
    approved = [d for d in decisions if d["header"]["event_type"] == "SendApproved"]
    debits = [e for e in ledger if e["header"]["event_type"] == "TokensDebited"]
    report(
        "broker_restart",
        [f"r{i}" for i in range(total)],
        [d["request_id"] for d in decisions],
        worker_restarts=restarts,
    )
    assert Counter(d["request_id"] for d in decisions) == {f"r{i}": 1 for i in range(total)}
    assert len(approved) == total  # the credit covers every request
    assert Counter(d["request_id"] for d in debits) == {f"r{i}": 1 for i in range(total)}
    assert sum(d["amount"] for d in debits) == sum(a["price_tokens"] for a in approved)
    print(f"worker restarts after the broker's: {restarts}")
