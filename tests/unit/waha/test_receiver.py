"""The webhook receiver's HTTP contract: every refusal answers the right status and stores nothing.

The store here records what it is given; the receiver on the real broker (stored, read back,
503 with the broker stopped) is tests/integration/waha/test_receiver_kafka.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connectors.waha.receiver import (
    PATH,
    RECEIVER,
    Lane,
    ReceiverConfig,
    callback_key,
    create_app,
    hmac_key_for,
    lane_of,
)
from connectors.waha.signatures import check_signature, sign_body
from connectors.waha.wire import WahaEvent, decode_envelope
from schemas.events import WahaCallbackReceived
from streams.base.errors import ProduceFailed, RecordTooLarge
from streams.domain.tenant_config import TenantConfig, parse_tenant_config
from streams.runtime.kafka_limits import record_bytes
from streams.runtime.log_reader import event_from
from tests.unit.waha.envelopes import ack, envelope, message, raw
from tests.unit.waha.shared_fixtures import fixture_bytes

GLOBAL_KEY = "global-secret"
OWN_KEY = "acme-own-secret"


def _tenant(tenant: str, sessions: list[dict[str, str]]) -> TenantConfig:
    return parse_tenant_config(
        {
            "tenant": tenant,
            "name": tenant,
            "waha": {"sessions": sessions},
            "regua": {"steps": [{"when": "D0", "template": "Olá, {first_name}!"}]},
        }
    )


class Owners:
    def __init__(self, *configs: TenantConfig) -> None:
        self.by_session = {s.name: c for c in configs for s in c.sessions}

    def owner_of(self, session: str) -> TenantConfig | None:
        return self.by_session.get(session)


class RecordingStore:
    def __init__(self, fail: BaseException | None = None, delay: float = 0.0) -> None:
        self.sent: list[tuple[WahaCallbackReceived, str]] = []
        self.lanes: list[Lane] = []
        self.fail = fail
        self.delay = delay

    async def send(self, key: bytes, value: bytes, timeout_s: float, lane: Lane) -> None:
        if self.delay:
            async with asyncio.timeout(timeout_s):
                await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        event = event_from(value)
        assert isinstance(event, WahaCallbackReceived)
        self.sent.append((event, key.decode()))
        self.lanes.append(lane)


OWNERS = Owners(
    _tenant("acme", [{"name": "tenant-a"}, {"name": "default"}]),
    _tenant("beta", [{"name": "beta-1", "webhook_hmac_key": "env:BETA_HMAC_KEY"}]),
)


async def _client(
    store: RecordingStore,
    *,
    max_body: int = 1_000_000,
    env: dict[str, str] | None = None,
    produce_timeout: float = 5.0,
    ready: bool = True,
) -> TestClient[Any, Any]:
    config = ReceiverConfig(
        max_body_bytes=max_body, produce_timeout_s=produce_timeout, default_hmac_key=GLOBAL_KEY
    )
    app = create_app(
        OWNERS,
        store,
        config,
        record_bytes=record_bytes,
        env={"BETA_HMAC_KEY": OWN_KEY} if env is None else env,
        ready=lambda: ready,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


# Async fixtures would run on the session's loop (asyncio_default_fixture_loop_scope) and the
# tests on their own; every test opens its client itself.
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
async def client(store: RecordingStore) -> AsyncIterator[TestClient[Any, Any]]:
    c = await _client(store)
    yield c
    await c.close()


def _signed(body: bytes, key: str = GLOBAL_KEY, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Webhook-Hmac": sign_body(key, body),
        "X-Webhook-Hmac-Algorithm": "sha512",
        **extra,
    }


INBOUND = raw(envelope("message", message()))


async def test_a_signed_webhook_is_stored_exactly_as_received(
    client: TestClient[Any, Any], store: RecordingStore
) -> None:
    headers = _signed(INBOUND, **{"X-Webhook-Request-Id": "req-1"})
    response = await client.post(PATH, data=INBOUND, headers=headers)
    assert response.status == 200, await response.text()
    ((event, key),) = store.sent
    assert (await response.json()) == {"stored": event.header.event_id}
    assert event.body == INBOUND
    assert event.headers["x-webhook-hmac"] == headers["X-Webhook-Hmac"]
    assert event.headers["x-webhook-request-id"] == "req-1"
    assert event.session == "tenant-a"
    assert event.header.tenant_id == "acme"
    assert event.header.correlation_id == "evt_01jq0000000000000000000099"
    assert key == "acme:5511988887777"  # the chat key (streams/domain/chat_keys.py)
    assert event.received_at.tzinfo is not None


async def test_every_fixture_is_accepted_when_signed(
    client: TestClient[Any, Any], store: RecordingStore
) -> None:
    names = [
        "01_message_text_inbound_webjs.json",
        "07_message_ack_device_gows.json",
        "13_session_status_working.json",
        "16_message_reaction_webjs.json",
    ]
    for name in names:
        body = fixture_bytes(name)
        response = await client.post(PATH, data=body, headers=_signed(body))
        assert response.status == 200, (name, await response.text())
    assert [event.body for event, _ in store.sent] == [fixture_bytes(n) for n in names]
    # A debtor's message goes in a lane of its own; acks, statuses and reactions in the other.
    assert store.lanes == [Lane.MESSAGES, Lane.EVENTS, Lane.EVENTS, Lane.EVENTS]


async def test_only_messages_take_the_messages_lane() -> None:
    assert {e.value for e in WahaEvent if lane_of(e.value) is Lane.MESSAGES} == {
        "message",
        "message.any",
    }
    assert lane_of("some.future.event") is Lane.EVENTS


async def test_unsigned_is_401(client: TestClient[Any, Any], store: RecordingStore) -> None:
    response = await client.post(PATH, data=INBOUND, headers={"Content-Type": "application/json"})
    assert response.status == 401
    assert "X-Webhook-Hmac" in (await response.json())["error"]
    assert store.sent == []


async def test_a_wrong_signature_is_401(
    client: TestClient[Any, Any], store: RecordingStore
) -> None:
    response = await client.post(PATH, data=INBOUND, headers=_signed(INBOUND, key="not-the-key"))
    assert response.status == 401
    assert "does not match" in (await response.json())["error"]
    tampered = INBOUND.replace(b"amanh", b"hoje ")
    response = await client.post(PATH, data=tampered, headers=_signed(INBOUND))
    assert response.status == 401
    assert store.sent == []


async def test_a_session_with_its_own_key_needs_that_key(
    client: TestClient[Any, Any], store: RecordingStore
) -> None:
    body = raw(envelope("message", message(), session="beta-1"))
    assert (await client.post(PATH, data=body, headers=_signed(body))).status == 401
    response = await client.post(PATH, data=body, headers=_signed(body, key=OWN_KEY))
    assert response.status == 200
    assert store.sent[0][0].header.tenant_id == "beta"


async def test_a_key_missing_from_the_environment_is_401() -> None:
    store = RecordingStore()
    client = await _client(store, env={})
    try:
        body = raw(envelope("message", message(), session="beta-1"))
        response = await client.post(PATH, data=body, headers=_signed(body, key=OWN_KEY))
        assert response.status == 401
        assert store.sent == []
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (raw({"hello": "world"}), "not a WAHA webhook envelope"),
        (raw(envelope("message", "text")), "$.payload"),
    ],
)
async def test_malformed_bodies_are_400(
    client: TestClient[Any, Any], store: RecordingStore, body: bytes, says: str
) -> None:
    response = await client.post(PATH, data=body, headers=_signed(body))
    assert response.status == 400
    assert says in (await response.json())["error"]
    assert store.sent == []


@pytest.mark.parametrize("algorithm", ["sha512", "md5"])
async def test_an_unknown_session_is_401_like_a_wrong_signature(
    client: TestClient[Any, Any], store: RecordingStore, algorithm: str
) -> None:
    """Issue 18 §5: a 404 told a prober which session names exist before any signature was
    checked. An unknown session, a session without a key and a wrong signature now answer
    alike, whatever the headers say."""
    answers = []
    for session in ("nobody", "tenant-a"):
        body = raw(envelope("message", message(), session=session))
        headers = _signed(body, key="a guess", **{"X-Webhook-Hmac-Algorithm": algorithm})
        response = await client.post(PATH, data=body, headers=headers)
        answers.append((response.status, await response.json()))
    no_key = await _client(RecordingStore(), env={})
    try:
        body = raw(envelope("message", message(), session="beta-1"))
        headers = _signed(body, key="a guess", **{"X-Webhook-Hmac-Algorithm": algorithm})
        response = await no_key.post(PATH, data=body, headers=headers)
        answers.append((response.status, await response.json()))
    finally:
        await no_key.close()
    unknown, wrong, keyless = answers
    assert unknown[0] == 401
    assert unknown == wrong == keyless
    assert "nobody" not in unknown[1]["error"]
    assert store.sent == []


async def test_a_body_over_the_limit_is_413_with_or_without_content_length() -> None:
    store = RecordingStore()
    client = await _client(store, max_body=1_000)
    try:
        big = raw(envelope("message", message(body="x" * 2_000)))
        response = await client.post(PATH, data=big, headers=_signed(big))
        assert response.status == 413

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 100):
                yield big[start : start + 100]

        response = await client.post(PATH, data=chunks(), headers=_signed(big))
        assert response.status == 413
        small = raw(envelope("message", message()))
        assert (await client.post(PATH, data=small, headers=_signed(small))).status == 200
        assert len(store.sent) == 1
    finally:
        await client.close()


async def test_only_the_headers_needed_are_stored() -> None:
    """Issue 18 §2: every request header went into the record, so ~1 MB of headers on a body
    under the limit made a record the broker refused. The record keeps what checks the
    signature again, WAHA's request id and send time, and the content type."""
    store = RecordingStore()
    client = await _client(store)
    try:
        extra = {f"X-Padding-{i}": "p" * 8_000 for i in range(40)}  # 320 KB of headers
        headers = _signed(
            INBOUND,
            **{
                "X-Webhook-Request-Id": "req-7",
                "X-Webhook-Timestamp": "1764864000123",
                "X-Tenant": "custom header",
                "Cookie": "session=secret",
                **extra,
            },
        )
        response = await client.post(PATH, data=INBOUND, headers=headers)
        assert response.status == 200, await response.text()
        ((event, _),) = store.sent
        assert event.headers == {
            "content-type": "application/json",
            "x-webhook-hmac": headers["X-Webhook-Hmac"],
            "x-webhook-hmac-algorithm": "sha512",
            "x-webhook-request-id": "req-7",
            "x-webhook-timestamp": "1764864000123",
        }
        check_signature(GLOBAL_KEY, event.body, event.headers)  # can be checked again later
    finally:
        await client.close()


async def test_a_kept_header_over_its_limit_is_431(
    client: TestClient[Any, Any], store: RecordingStore
) -> None:
    from connectors.waha.receiver import MAX_HEADER_BYTES

    long_id = "r" * (MAX_HEADER_BYTES + 1)
    response = await client.post(
        PATH, data=INBOUND, headers=_signed(INBOUND, **{"X-Webhook-Request-Id": long_id})
    )
    assert response.status == 431
    assert "X-Webhook-Request-Id" in (await response.json())["error"]
    repeated = [("X-Webhook-Timestamp", "1" * 300)] * 4  # joined: over the limit too
    response = await client.post(PATH, data=INBOUND, headers=[*_signed(INBOUND).items(), *repeated])
    assert response.status == 431
    assert store.sent == []


async def test_a_record_larger_than_kafka_stores_is_413_before_producing(
    store: RecordingStore,
) -> None:
    """A body under the body limit can still make a record over the topic's: the envelope id
    is stored again as the event's correlation id."""
    client = await _client(store)
    try:
        server = client.server
        assert isinstance(server, TestServer)
        limit = server.app[RECEIVER].max_record_bytes
        body = raw(envelope("message", message(body="m" * 10), id="evt_" + "i" * 600_000))
        assert len(body) < 1_000_000 < limit
        response = await client.post(PATH, data=body, headers=_signed(body))
        assert response.status == 413
        error = (await response.json())["error"]
        assert f"{limit:,}" in error
        assert store.sent == []
    finally:
        await client.close()


async def test_kafka_refusing_a_record_as_too_large_is_413() -> None:
    store = RecordingStore(
        fail=RecordTooLarge("refused by the broker", topic="t", size=900_000, limit=None)
    )
    client = await _client(store)
    try:
        response = await client.post(PATH, data=INBOUND, headers=_signed(INBOUND))
        assert response.status == 413
        assert "Retry-After" not in response.headers
    finally:
        await client.close()


async def test_the_largest_record_must_fit_what_kafka_stores() -> None:
    """At start the receiver refuses a body limit whose records the topic could not hold,
    naming the setting to change; the defaults fit Kafka's defaults."""
    from connectors.waha.errors import ReceiverConfigError
    from connectors.waha.receiver import check_record_limits, largest_record_bytes
    from streams.runtime.kafka_limits import KAFKA_DEFAULT_MAX_MESSAGE_BYTES, TopicLimits

    defaults = TopicLimits(
        "cobranca.waha.callbacks",
        KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
        False,
        KAFKA_DEFAULT_MAX_MESSAGE_BYTES,
    )
    check_record_limits(ReceiverConfig(), defaults)
    too_big = ReceiverConfig(max_body_bytes=2_000_000)
    with pytest.raises(ReceiverConfigError, match="COBRANCA_WEBHOOK_MAX_BODY_BYTES") as refused:
        check_record_limits(too_big, defaults)
    assert "message.max.bytes" in str(refused.value)
    most = int(
        str(refused.value)
        .split("COBRANCA_WEBHOOK_MAX_BODY_BYTES to ")[1]
        .split()[0]
        .replace(",", "")
    )
    check_record_limits(ReceiverConfig(max_body_bytes=most), defaults)
    assert largest_record_bytes(most) <= 1_048_576
    # A topic raised to 5 MB still meets the producer's max_request_size (1 MiB by default).
    raised = TopicLimits(
        "cobranca.waha.callbacks", 5_000_000, True, KAFKA_DEFAULT_MAX_MESSAGE_BYTES
    )
    with pytest.raises(ReceiverConfigError, match="COBRANCA_WEBHOOK_MAX_REQUEST_BYTES"):
        check_record_limits(too_big, raised)
    check_record_limits(
        ReceiverConfig(max_body_bytes=2_000_000, max_request_bytes=3_000_000), raised
    )


@pytest.mark.parametrize(
    "store", [RecordingStore(fail=ProduceFailed("broker down")), RecordingStore(delay=5)]
)
async def test_not_stored_is_503(store: RecordingStore) -> None:
    client = await _client(store, produce_timeout=0.5)
    try:
        response = await client.post(PATH, data=INBOUND, headers=_signed(INBOUND))
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert store.sent == []
    finally:
        await client.close()


async def test_an_unknown_session_is_503_until_the_tenants_are_read() -> None:
    store = RecordingStore()
    client = await _client(store, ready=False)
    try:
        body = raw(envelope("message", message(), session="nobody"))
        response = await client.post(PATH, data=body, headers=_signed(body))
        assert response.status == 503
        assert store.sent == []
    finally:
        await client.close()


async def test_healthz_and_metrics() -> None:
    store = RecordingStore()
    client = await _client(store, ready=False)
    try:
        assert (await client.get("/healthz")).status == 503
        await client.post(PATH, data=INBOUND, headers=_signed(INBOUND))
        await client.post(PATH, data=INBOUND, headers={})
        text = await (await client.get("/metrics")).text()
        assert 'cobranca_webhook_requests_total{outcome="stored"} 1.0' in text
        assert 'cobranca_webhook_requests_total{outcome="unsigned"} 1.0' in text
        assert "cobranca_webhook_request_seconds_bucket" in text
    finally:
        await client.close()
    ready = await _client(RecordingStore())
    try:
        assert (await ready.get("/healthz")).status == 200
    finally:
        await ready.close()


async def test_keys_of_callbacks_keep_a_chat_together() -> None:
    inbound = decode_envelope(raw(envelope("message", message())))
    inbound_any = decode_envelope(raw(envelope("message.any", message(), id="evt_other")))
    reply_ack = decode_envelope(
        raw(envelope("message.ack", ack(3, "READ", id="true_5511988887777@c.us_X")))
    )
    status = decode_envelope(fixture_bytes("13_session_status_working.json"))
    assert callback_key("acme", inbound) == "acme:5511988887777"
    assert callback_key("acme", inbound_any) == callback_key("acme", inbound)
    assert callback_key("acme", reply_ack) == callback_key("acme", inbound)
    assert callback_key("acme", status) == f"acme:{status.session}"


async def test_hmac_key_for_names_where_it_looked() -> None:
    beta = OWNERS.by_session["beta-1"]
    assert hmac_key_for(beta, "beta-1", {"BETA_HMAC_KEY": "k"}, "g") == (b"k", "BETA_HMAC_KEY")
    assert hmac_key_for(beta, "beta-1", {}, "g") == (None, "BETA_HMAC_KEY")
    acme = OWNERS.by_session["tenant-a"]
    assert hmac_key_for(acme, "tenant-a", {}, "g") == (b"g", "WAHA_HMAC_KEY")
    assert hmac_key_for(acme, "tenant-a", {}, None) == (None, "WAHA_HMAC_KEY")


async def test_the_datum_is_what_the_record_and_encode_would_give() -> None:
    from datetime import UTC, datetime

    from connectors.waha.receiver import callback_datum
    from schemas.codec import decode, encode, encode_datum
    from schemas.events import new_header

    received = datetime(2026, 12, 4, 17, 0, 0, 123456, tzinfo=UTC)
    envelope_ = decode_envelope(INBOUND)
    datum = callback_datum(
        tenant="acme",
        envelope=envelope_,
        body=INBOUND,
        headers={"x-webhook-hmac": "ab"},
        received_at=received,
        remote="127.0.0.1",
    )
    record = WahaCallbackReceived(
        header=new_header(
            "WahaCallbackReceived",
            tenant_id="acme",
            correlation_id=envelope_.id or "",
            causation_id=None,
            source="connectors.waha.receiver",
            occurred_at=received,
            event_id=datum["header"]["event_id"],
        ),
        body=INBOUND,
        headers={"x-webhook-hmac": "ab"},
        received_at=received.replace(microsecond=123000),
        session="tenant-a",
        remote="127.0.0.1",
    )
    fast = encode_datum("WahaCallbackReceived", datum)
    assert fast == encode(record.to_representation())
    assert decode(fast)["received_at"] == received.replace(microsecond=123000)


async def test_receiver_processes_come_from_the_environment() -> None:
    from connectors.waha.errors import ReceiverConfigError
    from connectors.waha.receiver import ReceiverConfig

    assert ReceiverConfig.from_env({}).processes == 1
    assert ReceiverConfig.from_env({"COBRANCA_WEBHOOK_PROCESSES": "2"}).processes == 2
    with pytest.raises(ReceiverConfigError, match="COBRANCA_WEBHOOK_PROCESSES"):
        ReceiverConfig.from_env({"COBRANCA_WEBHOOK_PROCESSES": "0"})
