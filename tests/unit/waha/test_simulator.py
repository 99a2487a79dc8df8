"""The WAHA simulator follows shared/waha: API answers, errors, engine shapes, webhooks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from connectors.waha.signatures import check_signature
from connectors.waha.simulator import Simulator, SimulatorConfig, SimulatorThread
from connectors.waha.simulator.config import directory_chat_id
from connectors.waha.simulator.replies import ReplyIntent, debtor_reply
from connectors.waha.simulator.server import retry_delays
from connectors.waha.simulator.shapes import new_event_id
from connectors.waha.wire import (
    WahaEvent,
    decode_envelope,
    link_key,
    message_id_from_send_response,
    parse_message,
    parse_message_ack,
    parse_session_status,
)
from tests.unit.waha.receiver import Receiver

SUPPORT = Path(__file__).resolve().parents[4] / "shared" / "waha" / "fixtures" / "support"
KEY = {"X-Api-Key": "k"}
FAST = (0.01, 0.02, 0.03)


def _support(name: str) -> dict[str, object]:
    path = SUPPORT / name
    if not path.exists():  # the main checkout keeps shared/ beside it too
        path = Path("/work/wt/shared/waha/fixtures/support") / name
    return json.loads(path.read_text())  # type: ignore[no-any-return]


async def _sim(**config: object) -> Simulator:
    sim = Simulator(SimulatorConfig(api_key="k", seed=1, **config))  # type: ignore[arg-type]
    await sim.start()
    return sim


async def test_api_key_is_required_and_refused_with_wahas_body() -> None:
    sim = await _sim()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{sim.url}/api/sessions") as answer:
                assert answer.status == 401
                assert await answer.json() == _support("error_401_unauthorized.json")
            async with http.get(f"{sim.url}/api/sessions?x-api-key=k") as answer:
                assert answer.status == 200
            async with http.get(f"{sim.url}/ping") as answer:
                assert answer.status == 200
    finally:
        await sim.stop()


async def test_unknown_session_is_404_and_a_session_not_working_is_422() -> None:
    sim = await _sim()
    body = {"session": "nope", "chatId": "5511987654321@c.us", "text": "oi"}
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            async with http.post(f"{sim.url}/api/sendText", json=body) as answer:
                assert answer.status == 404
                expected = _support("error_404_session_not_found.json")
                assert await answer.json() == {
                    **expected,
                    "message": expected["message"].replace("default", "nope"),
                }  # type: ignore[union-attr]
            sim.set_status("default", "SCAN_QR_CODE")
            async with http.post(
                f"{sim.url}/api/sendText", json={**body, "session": "default"}
            ) as answer:
                assert answer.status == 422
                assert await answer.json() == _support("error_422_session_not_working.json")
            async with http.post(f"{sim.url}/api/sessions/default/start") as answer:
                assert answer.status == 201
            await asyncio.sleep(0.4)
            async with http.get(f"{sim.url}/api/sessions/default") as answer:
                assert (await answer.json())["status"] == "WORKING"
            async with http.post(f"{sim.url}/api/sessions/default/stop") as answer:
                assert (await answer.json())["status"] == "STOPPED"
            async with http.get(f"{sim.url}/api/sessions") as answer:
                assert await answer.json() == []
            async with http.get(f"{sim.url}/api/sessions?all=true") as answer:
                assert [s["status"] for s in await answer.json()] == ["STOPPED"]
    finally:
        await sim.stop()


async def test_bad_send_bodies_get_nests_400() -> None:
    sim = await _sim()
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            async with http.post(f"{sim.url}/api/sendText", json={"session": "default"}) as r:
                assert r.status == 400
                body = await r.json()
                assert body["error"] == "Bad Request" and body["statusCode"] == 400
            file = {"mimetype": "image/jpeg", "url": "u", "data": "d"}
            async with http.post(
                f"{sim.url}/api/sendImage",
                json={"session": "default", "chatId": "1@c.us", "file": file},
            ) as r:
                assert r.status == 400
    finally:
        await sim.stop()


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
async def test_send_answers_have_the_engines_shape_and_the_fixture_requests_work(
    engine: str,
) -> None:
    sim = await _sim(engine=engine)
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            for endpoint, request in (
                ("sendText", _support("sendtext_request.json")),
                ("sendImage", _support("sendimage_request_url.json")),
            ):
                async with http.post(f"{sim.url}/api/{endpoint}", json=request) as answer:
                    assert answer.status == 201
                    body = await answer.json()
                message_id = message_id_from_send_response(body)
                assert link_key(message_id).startswith("true_12132132130@c.us_") or (
                    link_key(message_id).startswith("true_11111111111@c.us_")
                )
                if engine == "NOWEB":
                    assert body["key"]["remoteJid"].endswith("@s.whatsapp.net")
                    assert body["status"] == "PENDING"
                elif engine == "GOWS":
                    assert isinstance(body["id"], str)
                else:
                    assert body["id"]["_serialized"] == message_id
            async with http.post(
                f"{sim.url}/api/sendSeen", json=_support("sendseen_request_group.json")
            ) as answer:
                assert answer.status == 201
            for action in ("startTyping", "stopTyping"):
                async with http.post(
                    f"{sim.url}/api/{action}", json={"session": "default", "chatId": "1@c.us"}
                ) as answer:
                    assert answer.status == 201
                    assert await answer.read() == b""
        assert [s.endpoint for s in sim.sends] == ["/api/sendText", "/api/sendImage"]
    finally:
        await sim.stop()


@pytest.mark.parametrize(
    ("digits", "chat"),
    [
        ("5511987654321", "5511987654321@c.us"),
        ("551187654321", "5511987654321@c.us"),
        ("5531987654321", "553187654321@c.us"),
        ("5585991203123", "558591203123@c.us"),
        ("553133334444", "553133334444@c.us"),
        ("5531900000000", None),
        ("14155550100", "14155550100@c.us"),
    ],
)
def test_the_directory_follows_the_9th_digit_rule(digits: str, chat: str | None) -> None:
    assert directory_chat_id(digits, "0000") == chat


async def test_check_exists_answers_with_the_accounts_chat_id() -> None:
    sim = await _sim()
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            url = f"{sim.url}/api/contacts/check-exists"
            async with http.get(url, params={"phone": "5531987654321"}) as r:
                assert await r.json() == {"numberExists": True, "chatId": "553187654321@c.us"}
            async with http.get(url, params={"phone": "+55 31 90000-0000"}) as r:
                assert await r.json() == {"numberExists": False}
    finally:
        await sim.stop()


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
async def test_webhooks_are_signed_wellformed_envelopes_with_acks_and_a_reply(
    engine: str,
) -> None:
    receiver = await Receiver().start()
    sim = await _sim(
        engine=engine,
        webhook_url=receiver.url,
        hmac_key="segredo",
        ack_delays_s=FAST,
        read_rate=1.0,
        reply_rate=1.0,
        reply_delay_s=0.02,
    )
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            body = {"session": "default", "chatId": "5511987654321@c.us", "text": "Olá"}
            async with http.post(f"{sim.url}/api/sendText", json=body) as answer:
                sent = message_id_from_send_response(await answer.json())
        await receiver.wait_for(4)
    finally:
        await sim.stop()
        await receiver.stop()
    envelopes = []
    for item in receiver.received:
        check_signature("segredo", item.body, item.headers)
        assert item.headers["X-Webhook-Hmac-Algorithm"] == "sha512"
        assert item.headers["X-Webhook-Timestamp"].isdigit()
        envelope = decode_envelope(item.body)
        assert envelope.engine == engine and envelope.session == "default"
        assert envelope.id is not None and len(envelope.id) == 30
        envelopes.append(envelope)
    acks = [parse_message_ack(e) for e in envelopes if e.event == WahaEvent.MESSAGE_ACK]
    assert sorted(a.ack_name or "" for a in acks) == ["DEVICE", "READ", "SERVER"]
    assert {link_key(a.id) for a in acks} == {link_key(sent)}
    (reply,) = [parse_message(e) for e in envelopes if e.event == WahaEvent.MESSAGE]
    assert not reply.from_me and reply.body
    assert reply.id.startswith("false_5511987654321@c.us_")


async def test_session_status_webhooks_and_a_session_that_fails_and_comes_back() -> None:
    receiver = await Receiver().start()
    sim = await _sim(webhook_url=receiver.url)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{sim.url}/_sim/sessions/default/status", json={"status": "FAILED", "for_s": 0.1}
            ) as answer,
        ):
            assert answer.status == 200
        await receiver.wait_for(2)
    finally:
        await sim.stop()
        await receiver.stop()
    statuses = [parse_session_status(decode_envelope(r.body)) for r in receiver.received]
    assert [s.status for s in statuses] == ["FAILED", "WORKING"]
    assert [p.status for p in statuses[-1].statuses][-2:] == ["FAILED", "WORKING"]


async def test_webhooks_are_retried_with_the_same_body() -> None:
    receiver = await Receiver(fail_first=2).start()
    sim = await _sim(webhook_url=receiver.url, retry_delay_s=0.01, retry_policy="constant")
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{sim.url}/_sim/inbound", json={"chat_id": "5511987654321@c.us", "text": "oi"}
            ) as answer,
        ):
            assert answer.status == 201
        await receiver.wait_for(1)
        assert receiver.calls == 3
        assert sim.stats["webhook_retries"] == 2
    finally:
        await sim.stop()
        await receiver.stop()
    assert parse_message(decode_envelope(receiver.received[0].body)).body == "oi"


def test_retry_policies_follow_waha() -> None:
    import random

    rng = random.Random(0)
    assert retry_delays("constant", 2, 4, rng) == [2, 2, 2]
    assert retry_delays("linear", 2, 4, rng) == [2, 4, 6]
    delays = retry_delays("exponential", 2, 4, rng)
    for delay, base in zip(delays, (2, 4, 8), strict=True):
        assert base <= delay <= base * 1.2


async def test_faults_drop_duplicate_and_reorder_webhooks() -> None:
    receiver = await Receiver().start()
    sim = await _sim(webhook_url=receiver.url, ack_delays_s=FAST, read_rate=1.0, reply_rate=0)
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            async with http.post(
                f"{sim.url}/_sim/faults", json={"duplicate_rate": 1, "out_of_order_rate": 1}
            ) as answer:
                assert (await answer.json())["duplicate_rate"] == 1
            body = {"session": "default", "chatId": "5511987654321@c.us", "text": "Olá"}
            async with http.post(f"{sim.url}/api/sendText", json=body) as answer:
                assert answer.status == 201
            await receiver.wait_for(6)
            async with http.post(f"{sim.url}/_sim/faults", json={"drop_rate": 1}) as answer:
                assert answer.status == 200
            async with http.post(f"{sim.url}/api/sendText", json=body) as answer:
                assert answer.status == 201
            await asyncio.sleep(0.2)
            async with http.post(f"{sim.url}/_sim/faults", json={"bogus": 1}) as answer:
                assert answer.status == 400
    finally:
        await sim.stop()
        await receiver.stop()
    assert len(receiver.received) == 6
    ids = [decode_envelope(r.body).id for r in receiver.received]
    assert len(set(ids)) == 3  # each envelope twice, same id
    assert sim.stats["acks_out_of_order"] == 2
    assert sim.stats["webhooks_dropped"] == 3


async def test_sends_fail_with_5xx_for_a_window_then_recover() -> None:
    sim = await _sim()
    body = {"session": "default", "chatId": "5511987654321@c.us", "text": "Olá"}
    try:
        async with aiohttp.ClientSession(headers=KEY) as http:
            async with http.post(f"{sim.url}/_sim/faults", json={"fail_sends_for_s": 0.3}):
                pass
            async with http.post(f"{sim.url}/api/sendText", json=body) as answer:
                assert answer.status == 503
                assert (await answer.json())["exception"]["name"] == "Error"
            await asyncio.sleep(0.35)
            async with http.post(f"{sim.url}/api/sendText", json=body) as answer:
                assert answer.status == 201
            async with http.get(f"{sim.url}/_sim/sends") as answer:
                assert len((await answer.json())["sends"]) == 1
    finally:
        await sim.stop()


def test_the_simulator_runs_in_a_thread_for_synchronous_tests() -> None:
    import urllib.request

    with SimulatorThread(SimulatorConfig(api_key=None)) as sim:
        with urllib.request.urlopen(f"{sim.url}/api/sessions") as answer:
            assert json.loads(answer.read())[0]["name"] == "default"
        assert sim.call(lambda: len(sim.simulator.sends)) == 0  # type: ignore[union-attr]


def test_event_ids_are_evt_and_a_lowercase_ulid() -> None:
    import random

    event_id = new_event_id(random.Random(0), now_ms=1_700_000_000_000)
    assert event_id.startswith("evt_01") and len(event_id) == 30
    assert event_id == event_id.lower()


@pytest.mark.parametrize("intent", list(ReplyIntent))
def test_debtors_answer_in_portuguese_for_every_intent(intent: ReplyIntent) -> None:
    import random
    from datetime import date

    reply = debtor_reply(random.Random(3), date(2026, 12, 4), intent)
    assert reply.intent is intent and reply.text and "{" not in reply.text
