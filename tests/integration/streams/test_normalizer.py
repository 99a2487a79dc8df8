"""The normalizer on the real broker, fed by the real receiver: signed webhooks become
deduplicated, monotonic conversation events linked to the requests of MessageDispatched
events, and stay deduplicated after the worker is SIGKILLed and rebuilds its state."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas.events import MessageDispatched, new_header
from streams.base.topics import CONVERSATIONS
from streams.domain.chat_keys import record_key
from streams.runtime.producer import EventProducer
from tests.integration.waha.receiver_process import ReceiverProcess
from tests.integration.waha.test_receiver_kafka import configure
from tests.kafka_helpers import WorkerProcess, for_tenant, read_committed, wait_until
from tests.unit.waha.envelopes import ack, envelope, message, raw

pytestmark = pytest.mark.integration

CHATS = 12


def chat(i: int) -> str:
    return f"55119{i:08d}@c.us"


def sent_id(i: int) -> str:
    return f"true_{chat(i)}_SENT{i}"


def dispatched(tenant: str, session: str, i: int) -> MessageDispatched:
    return MessageDispatched(
        header=new_header(
            "MessageDispatched",
            tenant_id=tenant,
            correlation_id=f"req-{i}",
            causation_id=None,
            source="tests",
        ),
        request_id=f"req-{i}",
        session=session,
        chat_id=chat(i),
        waha_message_id=sent_id(i),
        attempt=1,
    )


async def produce(bootstrap: str, events: list[Any], key: str) -> None:
    async with EventProducer(bootstrap) as producer:
        await producer.send_many((event, key) for event in events)


def conversations(bootstrap: str, tenant: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    records = asyncio.run(read_committed(bootstrap, CONVERSATIONS.name))
    return [(k, v) for k, v in records if v["header"]["tenant_id"] == tenant]


def test_callbacks_become_deduplicated_linked_monotonic_conversation_events(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = f"nrm-{uuid.uuid4().hex[:8]}"
    session = f"{tenant}-s"
    configure(kafka_bootstrap, tenant, [session])
    # All but the last dispatch exist before the worker starts; the last comes while it runs.
    early = [dispatched(tenant, session, i) for i in range(CHATS - 1)]
    asyncio.run(produce(kafka_bootstrap, early, tenant))
    reply_at = int(time.time()) + 60  # the debtors answer after the sends

    def ack_body(i: int, level: int, name: str) -> bytes:
        payload = ack(level, name, id=sent_id(i), **{"from": chat(i)})
        event_id = f"evt_{tenant}_{i}_ack{level}"
        return raw(envelope("message.ack", payload, session=session, id=event_id))

    def reply(i: int, event: str, n: int = 0) -> bytes:
        payload = message(
            id=f"false_{chat(i)}_REPLY{i}_{n}", **{"from": chat(i)}, timestamp=reply_at
        )
        return raw(envelope(event, payload, session=session, id=f"evt_{tenant}_{i}_{event}_{n}"))

    status = raw(
        envelope(
            "session.status",
            {"status": "WORKING", "statuses": [{"status": "WORKING", "timestamp": 1}]},
            session=session,
            id=f"evt_{tenant}_status",
        )
    )
    worker = WorkerProcess(kafka_bootstrap, tmp_path / "worker", app_id=f"nrm-{tenant}")
    receiver = ReceiverProcess(kafka_bootstrap, tmp_path)
    worker.start()
    receiver.start()
    try:
        asyncio.run(produce(kafka_bootstrap, [dispatched(tenant, session, CHATS - 1)], tenant))
        # READ first, each twice (a retry), with the replies as message, message.any and a retry
        first = [ack_body(i, 3, "READ") for i in range(CHATS)] * 2
        first += [reply(i, "message") for i in range(CHATS)] * 2
        first += [reply(i, "message.any") for i in range(CHATS)]
        first += [status, status]
        assert receiver.post(first) == [200] * len(first)
        # then the older acks, late
        late = [ack_body(i, level, name) for i in range(CHATS) for level, name in ((1, "SERVER"),)]
        late += [ack_body(i, 2, "DEVICE") for i in range(CHATS)]
        assert receiver.post(late) == [200] * len(late)
        expected = 2 * CHATS + 1
        wait_until(
            lambda: len(conversations(kafka_bootstrap, tenant)) >= expected,
            timeout=180,
            what=f"{expected} conversation events",
            worker=worker,
        )
        # A SIGKILL: the state comes back from the conversations topic. Everything again, then a
        # new reply per chat, which its chat's partition holds after the repeats.
        worker.kill()
        worker.start()
        assert receiver.post(first + late) == [200] * len(first + late)
        assert receiver.post([reply(i, "message", n=1) for i in range(CHATS)]) == [200] * CHATS
        wait_until(
            lambda: len(conversations(kafka_bootstrap, tenant)) >= expected + CHATS,
            timeout=240,
            what="the new replies after the restart",
            worker=worker,
        )
        time.sleep(2)
    finally:
        receiver.stop()
        worker.stop()

    records = conversations(kafka_bootstrap, tenant)
    events = [v for _, v in records]
    kinds = Counter(e["header"]["event_type"] for e in events)
    assert kinds == {
        "DeliveryStatusChanged": CHATS,
        "InboundMessage": 2 * CHATS,
        "SessionStatusChanged": 1,
    }, kinds
    assert len({e["header"]["event_id"] for e in events}) == len(events)
    for key, event in records:
        if event["header"]["event_type"] == "SessionStatusChanged":
            assert key == f"{tenant}:{session}".encode()
            continue
        i = int(event["chat_id"][5:13])
        assert key == record_key(tenant, chat(i))  # the chat key its debt is indexed under
        assert event["request_id"] == f"req-{i}", event
        assert event["header"]["correlation_id"] == f"req-{i}"
        if event["header"]["event_type"] == "DeliveryStatusChanged":
            assert (event["ack"], event["ack_name"]) == (3, "READ")  # the late acks changed nothing
    dead = asyncio.run(read_committed(kafka_bootstrap, "cobranca.dead-letters"))
    assert for_tenant(dead, tenant) == []
