"""WhatsApp I/O end to end, on the real broker: approvals → the dispatcher → the WAHA simulator
→ its signed webhooks (acks, debtors' replies; some duplicated, some READ before DEVICE) → the
webhook receiver → the normalizer → conversation events linked to the requests they answer.

Only WAHA is simulated; the worker and the receiver are the processes production runs.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from connectors.waha.receiver import PATH
from connectors.waha.simulator import SimulatorConfig, SimulatorThread
from connectors.waha.simulator.config import Faults
from schemas.events import SendApproved, SendKind, new_header
from streams.base.topics import CONVERSATIONS, DISPATCHES
from streams.runtime.producer import EventProducer
from tests.integration.waha.receiver_process import HMAC_KEY, ReceiverProcess
from tests.integration.waha.test_receiver_kafka import configure
from tests.kafka_helpers import WorkerProcess, for_tenant, read_committed, wait_until

pytestmark = pytest.mark.integration

API_KEY = "e2e-key"
SENDS = 200


def _approval(tenant: str, session: str, i: int) -> SendApproved:
    return SendApproved(
        header=new_header(
            "SendApproved",
            tenant_id=tenant,
            correlation_id=f"req-{i}",
            causation_id=None,
            source="tests",
        ),
        request_id=f"req-{i}",
        client_id=f"c{i}",
        phone_e164=f"+55{31 if i % 4 == 0 else 11}98{i:03d}5678",
        kind=SendKind.TEXT,
        price_tokens=1,
        balance_after=1000 - i,
        text=f"Olá! Sua fatura vence amanhã ({i}).",
        session=session,
    )


def _sim_state(sim_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{sim_url}/_sim/stats", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def _events(bootstrap: str, topic: str, tenant: str) -> list[dict[str, Any]]:
    return for_tenant(asyncio.run(read_committed(bootstrap, topic)), tenant)


def test_sends_come_back_as_linked_deduplicated_monotonic_conversation_events(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = f"e2e-{uuid.uuid4().hex[:8]}"
    session = f"{tenant}-s"
    configure(kafka_bootstrap, tenant, [session])
    receiver = ReceiverProcess(kafka_bootstrap, tmp_path / "receiver")
    receiver.start()
    config = SimulatorConfig(
        api_key=API_KEY,
        sessions=(session,),
        webhook_url=f"{receiver.url}{PATH}",
        hmac_key=HMAC_KEY,
        ack_delays_s=(0.05, 0.3, 0.6),
        read_rate=0.8,
        reply_rate=0.4,
        reply_delay_s=0.5,
        retry_delay_s=0.5,
        seed=11,
        faults=Faults(duplicate_rate=0.2, out_of_order_rate=0.3),
    )
    worker = WorkerProcess(
        kafka_bootstrap,
        tmp_path / "worker",
        app_id=f"e2e-{tenant}",
        env={"WAHA_API_KEY": API_KEY, "COBRANCA_DISPATCH_RATE": "0"},
    )
    try:
        with SimulatorThread(config) as sim:
            worker.env["WAHA_URL"] = sim.url
            asyncio.run(_produce(kafka_bootstrap, tenant, session))
            worker.start()

            def dispatched() -> list[dict[str, Any]]:
                return [
                    e
                    for e in _events(kafka_bootstrap, DISPATCHES.name, tenant)
                    if e["header"]["event_type"] == "MessageDispatched"
                ]

            wait_until(lambda: len(dispatched()) >= SENDS, 300, f"{SENDS} dispatched", worker)

            seen: list[int] = []

            def settled() -> bool:
                # The simulator has nothing left to deliver (retries included), the debtors'
                # replies are all normalized, and nothing new arrived since the last look.
                state = _sim_state(sim.url)
                conversation = _events(kafka_bootstrap, CONVERSATIONS.name, tenant)
                replies = [e for e in conversation if e["header"]["event_type"] == "InboundMessage"]
                seen.append(len(conversation))
                return (
                    state["pending_tasks"] == 0
                    and len(replies) >= state["stats"].get("replies", 0)
                    and seen[-3:] == [len(conversation)] * 3
                )

            wait_until(settled, 300, "every webhook delivered and normalized", worker)
            stats = _sim_state(sim.url)["stats"]
    finally:
        worker.stop()
        receiver.stop()

    sent = {d["waha_message_id"]: d["request_id"] for d in dispatched()}
    assert sorted(sent.values()) == sorted(f"req-{i}" for i in range(SENDS))  # each once
    conversation = _events(kafka_bootstrap, CONVERSATIONS.name, tenant)
    acks = [e for e in conversation if e["header"]["event_type"] == "DeliveryStatusChanged"]
    replies = [e for e in conversation if e["header"]["event_type"] == "InboundMessage"]

    # The stream really had duplicates and READ-before-DEVICE acks in it.
    assert stats["webhooks_duplicated"] > 0 and stats["acks_out_of_order"] > 0, stats

    # Acks: each linked to the request of its message, and per message strictly increasing in
    # the log whatever order (and how often) WAHA delivered them.
    levels: dict[str, list[int]] = defaultdict(list)
    for ack in acks:
        assert ack["request_id"] == sent[ack["waha_message_id"]], ack
        levels[ack["waha_message_id"]].append(ack["ack"])
    assert set(levels) == set(sent)  # every message was at least acknowledged by the server
    for message, seen in levels.items():
        assert seen == sorted(set(seen)), (message, seen)

    # Replies: one event per reply the simulated debtors wrote, each linked to the send it
    # answers (the last one to that chat), none from the account itself.
    assert len(replies) == stats["replies"] > 0
    assert len({r["waha_message_id"] for r in replies}) == len(replies)
    chats = {d["chat_id"]: d["request_id"] for d in dispatched()}
    for reply in replies:
        assert not reply["from_me"] and not reply["is_group"]
        assert reply["request_id"] == chats[reply["chat_id"]], reply


async def _produce(bootstrap: str, tenant: str, session: str) -> None:
    async with EventProducer(bootstrap) as producer:
        await producer.send_many((_approval(tenant, session, i), tenant) for i in range(SENDS))
