"""The conversation routes on the real broker: the debtor's messages, the classifier's intents
and a hand-off written to their topics, then listed, read as a thread, resolved, corrected and
answered through the API, with what each write left on the log; and who may do it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.api.credentials import write_signing_key
from connectors.api.settings import ApiSettings
from schemas.events import Event
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.base.topics import API_AUDIT, CONVERSATIONS, SEND_REQUESTS
from streams.domain.chat_keys import record_key
from streams.ops.api_server import running_api
from streams.ops.handoffs import export_corrections
from streams.runtime.producer import EventProducer
from tests.factories import handoff_requested, inbound_message, intent_classified
from tests.integration.api.test_api import Api, Tenant, _create_admin, _tenant
from tests.kafka_helpers import read_committed

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DISPUTED = "+5531987654321"
PROMISED = "+5511912345678"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


@pytest.fixture(scope="module")
def admin_email() -> str:
    return f"admin-{uuid.uuid4().hex[:6]}@example.com"


@pytest.fixture(scope="module")
async def api(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, admin_email: str
) -> AsyncIterator[Api]:
    keys = tmp_path_factory.mktemp("signing")
    write_signing_key(keys, "k1")
    await _create_admin(kafka_bootstrap, admin_email)
    api_settings = replace(
        ApiSettings(Path(keys)), port=free_port(), rate_burst=10_000, rate_per_s=10_000.0
    )
    # Nothing here reads analytics or WAHA: the defaults are never called.
    settings = replace(Settings.from_env({}), kafka_bootstrap=kafka_bootstrap)
    async with running_api(settings, api_settings), aiohttp.ClientSession() as session:
        yield Api(f"http://127.0.0.1:{api_settings.port}", session, api_settings)


@pytest.fixture(scope="module")
async def platform(api: Api, admin_email: str) -> str:
    return str((await api.login(admin_email))["access_token"])


@pytest.fixture(scope="module")
async def tenant(api: Api, platform: str) -> Tenant:
    return await _tenant(api, platform)


async def _produce(bootstrap: str, events: list[tuple[Event, str]]) -> None:
    async with EventProducer(bootstrap) as producer:
        for event, key in events:
            await producer.send(event, key=key)


async def _eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{what} within 15 s"
        await asyncio.sleep(0.1)


def _story(tenant: str) -> tuple[list[tuple[Event, str]], str]:
    """A disputed debt handed off, and a promise; returns the events and the hand-off's id."""
    disputed = inbound_message(
        tenant, phone=DISPUTED, message_id="in-dispute", body="não reconheço essa dívida", at=T0
    )
    disputed.chat_id = "553187654321@c.us"  # WhatsApp's id without the 9th digit
    intent = intent_classified(
        tenant, label="dispute", confidence=0.93, phone=DISPUTED, message_id="in-dispute"
    )
    intent.chat_id = disputed.chat_id
    handoff = handoff_requested(tenant, reason="dispute", phone=DISPUTED, at=T0)
    handoff.chat_id, handoff.waha_message_id = disputed.chat_id, "in-dispute"
    promise = inbound_message(
        tenant, phone=PROMISED, message_id="in-promise", body="pago sexta sem falta", at=T0
    )
    promise.timestamp = T0 + timedelta(minutes=5)
    promised = intent_classified(
        tenant, label="promise_to_pay", confidence=0.88, phone=PROMISED, message_id="in-promise"
    )

    def chat(event: Any) -> str:
        return record_key(tenant, event.chat_id).decode()

    events: list[tuple[Event, str]] = [
        (disputed, chat(disputed)),
        (intent, chat(intent)),
        (handoff, tenant),
        (promise, chat(promise)),
        (promised, chat(promised)),
    ]
    return events, handoff.header.event_id


async def test_an_operator_works_a_hand_off_from_the_list_to_the_reply(
    api: Api, tenant: Tenant, kafka_bootstrap: str
) -> None:
    events, handoff_id = _story(tenant.name)
    await _produce(kafka_bootstrap, events)
    base, op = f"/v1/tenants/{tenant.name}", tenant.operator

    async def listed() -> Any:
        status, body, _ = await api.call("GET", f"{base}/conversations", op)
        assert status == 200, body
        chats = body["conversations"]
        complete = len(chats) == 2 and all(c["last_intent"] for c in chats)
        return body if complete and any(c["open_handoff"] for c in chats) else None

    # Every topic is followed on its own: the chats, their intents, the hand-off.
    page = await _eventually(listed, "both chats listed, classified, one handed off")
    newest, disputed = page["conversations"]
    assert newest["chat"] == "5511912345678" and newest["phone"] == PROMISED
    assert newest["last_message"]["text"] == "pago sexta sem falta"
    assert newest["last_intent"] == {"label": "promise_to_pay", "confidence": pytest.approx(0.88)}
    assert (newest["open_handoff"], disputed["open_handoff"]) == (False, True)
    assert disputed["chat"] == "5531987654321" and disputed["client_id"] == "c1"

    status, only, _ = await api.call("GET", f"{base}/conversations?handoff=open", op)
    assert status == 200 and [c["chat"] for c in only["conversations"]] == ["5531987654321"]
    status, first, _ = await api.call("GET", f"{base}/conversations?limit=1", op)
    assert status == 200 and first["next"] is not None
    status, second, _ = await api.call(
        "GET", f"{base}/conversations?limit=1&cursor={first['next']}", op
    )
    assert [c["chat"] for c in second["conversations"]] == ["5531987654321"]
    assert second["next"] is None

    # The thread, addressed by WhatsApp's own chat id as well as by the chat key.
    status, thread, _ = await api.call("GET", f"{base}/conversations/553187654321@c.us", op)
    assert status == 200, thread
    (message,) = thread["messages"]
    assert message["text"] == "não reconheço essa dívida" and message["direction"] == "inbound"
    assert message["intent"]["label"] == "dispute" and message["intent"][
        "confidence"
    ] == pytest.approx(0.93)
    assert thread["handoff"]["handoff_id"] == handoff_id and thread["session"] == "default"

    status, opened, _ = await api.call("GET", f"{base}/handoffs", op)
    assert status == 200
    (handoff,) = opened["handoffs"]
    assert handoff["handoff_id"] == handoff_id and handoff["age_s"] >= 1700
    assert handoff["message"] == {"message_id": "in-dispute", "text": "não reconheço essa dívida"}

    # Resolve: the same HandoffResolved `cobranca handoffs resolve` writes, keyed like the chat.
    resolution = {"label": "negotiate", "resume": False, "note": "quer parcelar"}
    status, body, _ = await api.call(
        "POST", f"{base}/handoffs/{handoff_id}/resolution", op, resolution
    )
    assert status == 202, body
    status, opened, _ = await api.call("GET", f"{base}/handoffs", op)
    assert opened["handoffs"] == []
    status, body, _ = await api.call(
        "POST", f"{base}/handoffs/{handoff_id}/resolution", op, resolution
    )
    assert status == 409 and body["error"]["code"] == "handoff_resolved"
    resolved = [
        (key, value)
        for key, value in await read_committed(kafka_bootstrap, CONVERSATIONS.name)
        if value.get("handoff_id") == handoff_id
    ]
    assert [(k, v["label"], v["resume"], v["note"]) for k, v in resolved] == [
        (f"{tenant.name}:5531987654321".encode(), "negotiate", False, "quer parcelar")
    ]
    assert resolved[0][1]["waha_message_id"] == "in-dispute"

    # Correct the promise's label: an IntentCorrected, and a training row in the export.
    status, body, _ = await api.call(
        "POST",
        f"{base}/conversations/5511912345678/corrections",
        op,
        {"message_id": "in-promise", "label": "already_paid"},
    )
    assert status == 202 and body["classified_label"] == "promise_to_pay", body
    rows = await export_corrections(kafka_bootstrap, tenant=tenant.name)
    # The two chats sit on different partitions: the export reads them in either order.
    assert sorted(rows, key=lambda r: r["text"]) == [
        {"text": "não reconheço essa dívida", "label": "negotiate"},
        {"text": "pago sexta sem falta", "label": "already_paid"},
    ]
    status, thread, _ = await api.call("GET", f"{base}/conversations/5511912345678", op)
    assert thread["messages"][0]["corrected_label"] == "already_paid"

    # Reply as a person, twice with one Idempotency-Key: one request id, step operator.
    headers = {"Idempotency-Key": "resposta-1"}
    text = {"text": "Olá! Podemos parcelar em 3x."}
    answers = [
        await api.call("POST", f"{base}/conversations/5531987654321/replies", op, text, headers)
        for _ in range(2)
    ]
    assert [a[0] for a in answers] == [202, 202]
    request_id = answers[0][1]["request_id"]
    assert answers[1][1]["request_id"] == request_id
    sends = [
        value
        for _, value in await read_committed(kafka_bootstrap, SEND_REQUESTS.name)
        if value.get("request_id") == request_id
    ]
    assert sends and {
        (s["step"], s["phone_e164"], s["client_id"], s["session"], s["text"]) for s in sends
    } == {("operator", DISPUTED, "c1", "default", text["text"])}
    status, thread, _ = await api.call("GET", f"{base}/conversations/5531987654321", op)
    last = thread["messages"][-1]
    assert (last["message_id"], last["step"], last["status"]) == (
        request_id,
        "operator",
        "requested",
    )
    assert thread["handoff"] is None and thread["handoffs"][0]["label"] == "negotiate"

    # The audit trail names the call, and not the debtor's phone.
    audits = [
        value
        for _, value in await read_committed(kafka_bootstrap, API_AUDIT.name)
        if value["operation"] == "replyToConversation"
        and value["header"]["tenant_id"] == tenant.name
    ]
    assert audits and all("987654321" not in a["path"] for a in audits)


async def test_refusals_say_what_is_wrong(api: Api, tenant: Tenant) -> None:
    base, op = f"/v1/tenants/{tenant.name}", tenant.operator
    cases = [
        ("GET", f"{base}/conversations?handoff=maybe", None, 400),
        ("GET", f"{base}/conversations?cursor=bm9wZQ", None, 400),
        ("GET", f"{base}/conversations?limit=0", None, 400),
        ("GET", f"{base}/conversations/5599999999999", None, 404),
        ("POST", f"{base}/conversations/5599999999999/replies", {"text": "oi"}, 404),
        ("POST", f"{base}/conversations/5531987654321/replies", {"text": ""}, 400),
        ("POST", f"{base}/handoffs/unknown/resolution", {"label": "other"}, 404),
        (
            "POST",
            f"{base}/conversations/5531987654321/corrections",
            {"message_id": "in-dispute", "label": "made_up"},
            400,
        ),
        (
            "POST",
            f"{base}/conversations/5531987654321/corrections",
            {"message_id": "nope", "label": "other"},
            404,
        ),
    ]
    for method, path, body, expected in cases:
        status, answer, _ = await api.call(method, path, op, body)
        assert status == expected, (path, answer)
        assert set(answer["error"]) == {"code", "message", "details"}


async def test_who_may_read_and_act_on_conversations(
    api: Api, platform: str, kafka_bootstrap: str
) -> None:
    mine, other = await _tenant(api, platform), await _tenant(api, platform)
    mine_events, _ = _story(mine.name)
    other_events, other_handoff = _story(other.name)
    await _produce(kafka_bootstrap, mine_events + other_events)
    base = f"/v1/tenants/{mine.name}"

    async def keyed(scopes: list[str]) -> str:
        status, body, _ = await api.call(
            "POST", f"{base}/keys", mine.admin, {"name": "console", "scopes": scopes}
        )
        assert status == 201, body
        return str(body["key"])

    async def listed() -> bool:
        for name in (mine.name, other.name):
            path = f"/v1/tenants/{name}/handoffs"
            status, body, _ = await api.call("GET", path, platform)
            if status != 200 or len(body["handoffs"]) != 1:
                return False
        return True

    await _eventually(listed, "both tenants' hand-offs")
    reader_key = await keyed(["conversations:read", "personal_data:read"])
    masked_key = await keyed(["conversations:read"])
    reads = (f"{base}/conversations", f"{base}/handoffs", f"{base}/conversations/5511912345678")
    for path in reads:
        for token, expected in (
            (mine.viewer, 403),  # message texts are personal data
            (masked_key, 403),  # a key needs personal_data:read besides
            (other.operator, 403),  # another tenant's
            (other.admin, 403),
            (None, 401),
            (mine.operator, 200),
            (mine.admin, 200),
            (platform, 200),
            (reader_key, 200),
        ):
            status, body, _ = await api.call("GET", path, token)
            assert status == expected, (path, token == platform, body)
    writes = [
        ("POST", f"{base}/conversations/5511912345678/replies", {"text": "oi"}),
        (
            "POST",
            f"{base}/conversations/5511912345678/corrections",
            {"message_id": "in-promise", "label": "other"},
        ),
        ("POST", f"{base}/handoffs/x/resolution", {"label": "other"}),
    ]
    for method, path, body in writes:
        for token in (mine.viewer, reader_key, other.admin, other.operator):
            status, answer, _ = await api.call(method, path, token, body)
            assert status == 403, (path, answer)
    # Another tenant's hand-off is not in this tenant's book: 404 through this tenant's path.
    status, body, _ = await api.call(
        "POST", f"{base}/handoffs/{other_handoff}/resolution", mine.operator, {"label": "other"}
    )
    assert status == 404, body
    status, body, _ = await api.call("GET", f"/v1/tenants/{other.name}/handoffs", platform)
    assert [h["handoff_id"] for h in body["handoffs"]] == [other_handoff]  # still open
