"""The conversation agent on the real broker, with the keyword classifier of tests/intent_rules:
an imported client's replies, as the WAHA normalizer writes them, become intents, actions and
pt-BR replies the ledger decides, exactly once across a SIGKILL; an opt-out stops the client's
next reminder; an operator's resolution resumes a paused client. The worker's /metrics counts
the intents and the open hand-off, which the resolution closes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas.events import Event, InboundMessage
from streams.base.ports import free_port
from streams.base.topics import (
    ACTIONS,
    CONVERSATION_DEBTS,
    INTENTS,
    SEND_DECISIONS,
    SEND_REQUESTS,
)
from streams.domain.chat_keys import chat_key
from streams.domain.reply_policy import reply_request_id
from streams.ops import handoffs
from streams.runtime.producer import EventProducer
from tests.cli import cobranca
from tests.factories import client_imported, credit_requested, inbound_message
from tests.faults import report
from tests.kafka_helpers import (
    WorkerProcess,
    configure_tenant,
    count_for,
    for_tenant,
    read_committed,
    wait_until,
)

pytestmark = pytest.mark.integration


def _cobranca(*args: str, bootstrap: str) -> subprocess.CompletedProcess[str]:
    return cobranca(*args, env={"COBRANCA_KAFKA_BOOTSTRAP": bootstrap}, check=True)


MINAS = "+5531987654321"  # DDD 31: WhatsApp's chat id lacks the 9th digit
PAULO = "+5511987650000"
MINAS_CHAT = "553187654321@c.us"
PAULO_CHAT = "5511987650000@c.us"


def _metric(port: int, name: str, **labels: str) -> float | None:
    """The sum of `name`'s series with `labels` on the worker's /metrics; None while it is not
    served yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None
    wanted = labels.items()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and wanted <= s.labels.items()
    )


def _message(tenant: str, chat: str, n: int, body: str, **changes: Any) -> InboundMessage:
    message = inbound_message(tenant, message_id=f"false_{chat}_IN{n}", body=body)
    message.chat_id = message.sender = chat
    message.header.correlation_id = chat
    for name, value in changes.items():
        setattr(message, name, value)
    return message


async def _produce(bootstrap: str, events: list[tuple[Event, str]]) -> None:
    async with EventProducer(bootstrap) as producer:
        await producer.send_many(events)


def _conversation(tenant: str, message: InboundMessage) -> tuple[Event, str]:
    """Keyed as the normalizer must key cobranca.conversations: tenant_id:chat_key."""
    return message, f"{tenant}:{chat_key(message.chat_id)}"


def _events(bootstrap: str, topic: str, tenant: str) -> list[dict[str, Any]]:
    return for_tenant(asyncio.run(read_committed(bootstrap, topic)), tenant)


def _of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["header"]["event_type"] == event_type]


def _reminders(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in _of_type(requests, "SendRequested") if r["step"] is not None]


def _all_decided(bootstrap: str, tenant: str) -> bool:
    """The three reminders are planned (requested, or deferred on a day no window opens) and
    the ledger decided every request: the four replies and the reminders requested."""
    requests = _events(bootstrap, SEND_REQUESTS.name, tenant)
    requested = len(_reminders(requests))
    if requested + len(_of_type(requests, "SendDeferred")) < 3:
        return False
    return count_for(bootstrap, SEND_DECISIONS.name, tenant) >= 4 + requested


def test_replies_become_intents_actions_and_replies_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = f"conv-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, tenant)
    minas = client_imported(tenant, 1, phone=MINAS)
    paulo = client_imported(tenant, 2, phone=PAULO)
    asyncio.run(
        _produce(
            kafka_bootstrap,
            [
                (credit_requested(tenant, 1000), tenant),
                (minas, f"{tenant}:{minas.client_id}"),
                (paulo, f"{tenant}:{paulo.client_id}"),
            ],
        )
    )
    port = free_port()
    env = {
        "COBRANCA_INTENT_CLASSIFIER": "tests.intent_rules:classifier",
        "COBRANCA_METRICS_PORT": str(port),
        "COBRANCA_METRICS_HOST": "127.0.0.1",
    }
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"conv-{tenant}", env=env)
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, CONVERSATION_DEBTS.name, tenant) >= 2,
            timeout=120,
            what="the régua to index both debts",
            worker=worker,
        )
        first = [
            _message(tenant, MINAS_CHAT, 1, "Me manda o PIX por favor"),
            _message(tenant, MINAS_CHAT, 2, "vou pagar sexta, 150 reais"),
            _message(tenant, MINAS_CHAT, 3, "no grupo", is_group=True),
            _message(tenant, MINAS_CHAT, 4, "eu mesmo", from_me=True),
            _message(tenant, PAULO_CHAT, 1, "parem de mandar mensagem"),
        ]
        asyncio.run(_produce(kafka_bootstrap, [_conversation(tenant, m) for m in first]))
        wait_until(
            lambda: count_for(kafka_bootstrap, INTENTS.name, tenant) >= 3,
            timeout=120,
            what="three intents",
            worker=worker,
        )
        worker.kill()  # the agent's state must come back from its own outputs
        worker.start()
        second = [
            _message(tenant, MINAS_CHAT, 1, "Me manda o PIX por favor"),  # redelivered
            _message(tenant, MINAS_CHAT, 5, "quero parcelar em 3x"),
            _message(tenant, MINAS_CHAT, 6, "me manda o boleto"),  # while a person handles it
            _message(tenant, PAULO_CHAT, 2, "me manda o pix"),  # after the opt-out
        ]
        asyncio.run(_produce(kafka_bootstrap, [_conversation(tenant, m) for m in second]))
        # Paulo's next debt: the régua asks for its reminder, which the ledger must refuse.
        again = client_imported(tenant, 2, phone=PAULO, import_id="imp-2")
        again.invoice_id = "F-next"  # a new debt: its D-30 step is due at once
        asyncio.run(_produce(kafka_bootstrap, [(again, f"{tenant}:{again.client_id}")]))
        wait_until(
            lambda: count_for(kafka_bootstrap, INTENTS.name, tenant) >= 6,
            timeout=120,
            what="six intents",
            worker=worker,
        )
        wait_until(
            lambda: _all_decided(kafka_bootstrap, tenant),
            timeout=120,
            what="the ledger's decisions",
            worker=worker,
        )

        # The hand-off is open in the state the (restarted) worker rebuilt and keeps. The group
        # read the log from the start, so other tests' chats may count too: at least ours.
        wait_until(
            lambda: (_metric(port, "cobranca_open_handoffs") or 0) >= 1,
            timeout=60,
            what="the open hand-off in /metrics",
            worker=worker,
        )
        open_before = _metric(port, "cobranca_open_handoffs")
        assert open_before is not None
        negotiate = _metric(port, "cobranca_intents_classified_total", intent="negotiate")
        assert negotiate is not None and negotiate >= 1

        # An operator resolves the hand-off: the client's reminders resume.
        listing = _cobranca(
            "handoffs", "list", "--tenant", tenant, "--json", bootstrap=kafka_bootstrap
        )
        (row,) = [json.loads(line) for line in listing.stdout.splitlines()]
        assert (row["reason"], row["text"]) == ("negotiate", "quero parcelar em 3x")
        resolved = _cobranca(
            "handoffs",
            "resolve",
            row["handoff_id"],
            "--label",
            "negotiate",
            "--operator",
            "ana",
            bootstrap=kafka_bootstrap,
        )
        assert resolved.returncode == 0, resolved.stderr
        wait_until(
            lambda: bool(
                _of_type(_events(kafka_bootstrap, ACTIONS.name, tenant), "CollectionResumed")
            ),
            timeout=120,
            what="CollectionResumed",
            worker=worker,
        )
        wait_until(
            lambda: (_metric(port, "cobranca_open_handoffs") or 0) == open_before - 1,
            timeout=30,
            what="the resolved hand-off off /metrics",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(3))  # a duplicate would show within a few commits
    finally:
        worker.stop()

    corrections = _cobranca(
        "model", "export-corrections", "--tenant", tenant, bootstrap=kafka_bootstrap
    )
    assert [json.loads(line) for line in corrections.stdout.splitlines()] == [
        {"text": "quero parcelar em 3x", "label": "negotiate"}
    ]
    assert asyncio.run(handoffs.read_handoffs(kafka_bootstrap, tenant=tenant)) == []

    intents = _events(kafka_bootstrap, INTENTS.name, tenant)
    by_message = {i["waha_message_id"]: i for i in intents}
    assert len(intents) == len(by_message) == 6  # once each; groups and own messages never
    assert {m: i["label"] for m, i in by_message.items()} == {
        f"false_{MINAS_CHAT}_IN1": "request_payment_info",
        f"false_{MINAS_CHAT}_IN2": "promise_to_pay",
        f"false_{MINAS_CHAT}_IN5": "negotiate",
        f"false_{MINAS_CHAT}_IN6": "request_payment_info",
        f"false_{PAULO_CHAT}_IN1": "opt_out",
        f"false_{PAULO_CHAT}_IN2": "request_payment_info",
    }
    promise = by_message[f"false_{MINAS_CHAT}_IN2"]
    assert promise["model_version"] == "keyword-rules-1"
    assert promise["client_id"] == minas.client_id and promise["amount_centavos"] == 15_000
    assert promise["promised_date"] is not None and promise["promised_date"].weekday() == 4

    actions = _events(kafka_bootstrap, ACTIONS.name, tenant)
    assert sorted(a["header"]["event_type"] for a in actions) == [
        "CollectionPaused",
        "CollectionResumed",
        "HandoffRequested",
        "OptedOut",
        "PaymentPromised",
    ]
    (opted,) = _of_type(actions, "OptedOut")
    assert (opted["phone_e164"], opted["client_id"]) == (PAULO, paulo.client_id)
    (handoff,) = _of_type(actions, "HandoffRequested")
    assert (handoff["reason"], handoff["client_id"]) == ("negotiate", minas.client_id)

    requests = _events(kafka_bootstrap, SEND_REQUESTS.name, tenant)
    replies = {r["request_id"]: r for r in requests if r.get("step", "") is None}

    def reply_to(chat: str, n: int) -> dict[str, Any]:
        return replies[reply_request_id(tenant, f"false_{chat}_IN{n}")]

    assert len(replies) == 4  # pix, promise, hand-off notice, opt-out confirmation
    pix = reply_to(MINAS_CHAT, 1)
    assert minas.pix_code in pix["text"] and pix["phone_e164"] == MINAS
    assert pix["session"] == "default" and pix["client_id"] == minas.client_id
    assert "Anotamos o pagamento de R$ 150,00 para" in reply_to(MINAS_CHAT, 2)["text"]
    assert "atendente" in reply_to(MINAS_CHAT, 5)["text"]
    assert "não receberá mais mensagens" in reply_to(PAULO_CHAT, 1)["text"]

    decisions = {d["request_id"]: d for d in _events(kafka_bootstrap, SEND_DECISIONS.name, tenant)}
    for request_id in replies:  # priced like any send; the opt-out's confirmation goes out
        assert decisions[request_id]["header"]["event_type"] == "SendApproved"
    deferred = _of_type(requests, "SendDeferred")
    if deferred:
        # The régua planned on a day no window opens (a Sunday or a holiday): every reminder
        # waits for the next open slot, and the ledger has none to refuse yet.
        assert len(deferred) >= 3 and not _reminders(requests)
        assert {d["reason"] for d in deferred} == {"outside_contact_window"}
        assert all(d["until"] > d["header"]["occurred_at"] for d in deferred)
        return
    reminders = [r for r in _reminders(requests) if r["client_id"] == paulo.client_id]
    assert len(reminders) == 2 and len({r["request_id"] for r in reminders}) == 2
    next_reminder = decisions[reminders[1]["request_id"]]
    assert (next_reminder["header"]["event_type"], next_reminder["reason"]) == (
        "SendRejected",
        "opted_out",
    )


def test_batches_stay_exactly_once_across_sigkills(kafka_bootstrap: str, tmp_path: Path) -> None:
    """300 replies in 30 chats (and 30 of them delivered twice), the worker SIGKILLed twice
    mid-stream: every message is classified and answered exactly once."""
    tenant = f"convb-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, tenant)
    clients = [client_imported(tenant, n, phone=f"+553198{n:07d}") for n in range(30)]
    asyncio.run(
        _produce(
            kafka_bootstrap,
            [(credit_requested(tenant, 10_000), tenant)]
            + [(c, f"{tenant}:{c.client_id}") for c in clients],
        )
    )
    env = {"COBRANCA_INTENT_CLASSIFIER": "tests.intent_rules:classifier"}
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"convb-{tenant}", env=env)
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, CONVERSATION_DEBTS.name, tenant) >= 30,
            timeout=120,
            what="the régua to index 30 debts",
            worker=worker,
        )
        # WhatsApp's ids for DDD 31 lack the 9th digit: 55 31 + 8 digits.
        messages = [
            _message(tenant, f"55318{n % 30:07d}@c.us", n, "me manda o pix") for n in range(300)
        ]
        messages += messages[::10]  # the normalizer may deliver a message twice
        events = [_conversation(tenant, m) for m in messages]
        for kill_after in (100, 200):
            chunk = events[kill_after - 100 : kill_after]
            asyncio.run(_produce(kafka_bootstrap, chunk))
            wait_until(
                lambda n=kill_after: count_for(kafka_bootstrap, INTENTS.name, tenant) >= n - 60,
                timeout=120,
                what="intents before a SIGKILL",
                worker=worker,
            )
            worker.kill()
            worker.start()
        asyncio.run(_produce(kafka_bootstrap, events[200:]))
        wait_until(
            lambda: count_for(kafka_bootstrap, INTENTS.name, tenant) >= 300,
            timeout=180,
            what="300 intents",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(3))
    finally:
        worker.stop()
    intents = _events(kafka_bootstrap, INTENTS.name, tenant)
    report(
        "worker_sigkill_conversation",
        {m.waha_message_id for m in messages},  # 300: the 30 delivered twice count once
        [i["waha_message_id"] for i in intents],
    )
    assert len(intents) == len({i["waha_message_id"] for i in intents}) == 300
    assert {i["label"] for i in intents} == {"request_payment_info"}
    assert all(i["client_id"] is not None for i in intents)  # every chat found its debt
    replies = [
        r for r in _events(kafka_bootstrap, SEND_REQUESTS.name, tenant) if r.get("step", "") is None
    ]
    assert len(replies) == len({r["request_id"] for r in replies}) == 300
    assert _of_type(_events(kafka_bootstrap, ACTIONS.name, tenant), "HandoffRequested") == []
