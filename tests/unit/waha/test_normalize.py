"""Normalization rules: given a WAHA webhook -> the event values cobranca emits, with no broker."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import connectors.waha
from connectors.waha.errors import WahaWireError
from connectors.waha.normalize import (
    dedup_keys,
    is_placeholder_envelope_id,
    normalize,
    normalize_body,
)
from connectors.waha.wire import decode_envelope
from schemas.events import (
    DeliveryStatusChanged,
    InboundMessage,
    SessionStatusChanged,
    new_header,
)
from streams.domain.normalized import (
    Ack,
    Ignored,
    IgnoreReason,
    Normalized,
    NormalizedDelivery,
    NormalizedInbound,
    NormalizedSessionStatus,
)
from tests.unit.waha.envelopes import ME, ack, envelope, message, raw
from tests.unit.waha.shared_fixtures import fixture_json

DEBTOR = "5511988887777@c.us"
SENT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # payload timestamp 1700000000 (s)


def run(body: dict[str, Any]) -> Normalized:
    return normalize_body(raw(body), source="test")


def inbound(body: dict[str, Any]) -> NormalizedInbound:
    result = run(body)
    assert isinstance(result, NormalizedInbound), result
    return result


def ignored(body: dict[str, Any]) -> Ignored:
    result = run(body)
    assert isinstance(result, Ignored), result
    return result


# --- messages -------------------------------------------------------------------------------


def test_an_inbound_text_becomes_an_inbound_message() -> None:
    assert inbound(envelope("message", message())) == NormalizedInbound(
        session="tenant-a",
        waha_message_id="false_5511988887777@c.us_3EB0AAAA",
        chat_id=DEBTOR,
        sender=DEBTOR,
        is_group=False,
        from_me=False,
        has_media=False,
        timestamp=SENT,
        body="Vou pagar amanhã",
        media_mimetype=None,
    )


def test_message_and_message_any_for_the_same_message_are_one_message() -> None:
    first = decode_envelope(
        raw(envelope("message", message(), id="evt_01jq00000000000000000000a1"))
    )
    second = decode_envelope(
        raw(envelope("message.any", message(), id="evt_01jq00000000000000000000a2"))
    )
    assert normalize(first) == normalize(second)
    first_keys, second_keys = dedup_keys(first), dedup_keys(second)
    assert first_keys[0] != second_keys[0]  # different envelopes...
    assert set(first_keys) & set(second_keys) == {first_keys[1]}  # ...one message


def test_a_retry_shares_the_envelope_key() -> None:
    body = raw(envelope("message", message()))
    assert dedup_keys(decode_envelope(body)) == dedup_keys(decode_envelope(body))
    assert dedup_keys(decode_envelope(body))[0] == '["envelope","evt_01jq0000000000000000000099"]'


def test_the_same_payload_id_in_another_session_is_another_message() -> None:
    one = dedup_keys(decode_envelope(raw(envelope("message", message()))))
    other = dedup_keys(decode_envelope(raw(envelope("message", message(), session="b", id=None))))
    assert set(one).isdisjoint(other)


def test_own_message_on_webjs_takes_the_chat_from_the_id_not_from() -> None:
    # WEBJS: `from` is our own account and `to` the chat.
    payload = message(
        id=f"true_{DEBTOR}_3EB0CCCC", fromMe=True, source="api", **{"from": ME["id"], "to": DEBTOR}
    )
    result = inbound(envelope("message.any", payload))
    assert (result.chat_id, result.sender, result.from_me) == (DEBTOR, ME["id"], True)


def test_own_message_on_gows_takes_the_same_chat() -> None:
    # GOWS: `from` is the chat even for our own messages, `to` is null.
    payload = message(id=f"true_{DEBTOR}_3EB0CCCC", fromMe=True, **{"from": DEBTOR, "to": None})
    result = inbound(envelope("message.any", payload, engine="GOWS"))
    assert (result.chat_id, result.sender, result.from_me) == (DEBTOR, ME["id"], True)


def test_a_group_message_is_marked_and_its_lid_sender_kept() -> None:
    group = "120363000000000000@g.us"
    payload = message(
        id=f"false_{group}_3EB0DDDD_123456789012345@lid",
        participant="123456789012345@lid",
        **{"from": group},
    )
    result = inbound(envelope("message", payload, engine="NOWEB"))
    assert (result.chat_id, result.is_group, result.sender) == (group, True, "123456789012345@lid")


def test_a_group_sender_falls_back_to_author_and_is_required() -> None:
    group = "120363000000000000@g.us"
    payload = message(id=f"false_{group}_3EB0DDDD", author=DEBTOR, **{"from": group})
    assert inbound(envelope("message", payload)).sender == DEBTOR
    del payload["author"]
    with pytest.raises(WahaWireError) as caught:
        run(envelope("message", payload))
    assert caught.value.path == "$.payload.participant"
    assert group in caught.value.reason


def test_participant_in_a_direct_chat_does_not_make_a_group() -> None:
    result = inbound(envelope("message", message(participant=DEBTOR)))  # WEBJS does this
    assert result.is_group is False


def test_a_lid_direct_chat_is_kept_as_sent() -> None:
    lid = "123456789012345@lid"
    result = inbound(envelope("message", message(id=f"false_{lid}_3EB0", **{"from": lid})))
    assert (result.chat_id, result.sender, result.is_group) == (lid, lid, False)


def test_s_whatsapp_net_becomes_c_us() -> None:
    payload = message(id="false_5511988887777@s.whatsapp.net_3EB0")
    assert inbound(envelope("message", payload, engine="NOWEB")).chat_id == DEBTOR


@pytest.mark.parametrize(
    ("engine", "fields", "chat"),
    [
        ("WEBJS", {"fromMe": True, "from": ME["id"], "to": DEBTOR}, DEBTOR),
        ("WPP", {"fromMe": True, "from": ME["id"], "to": DEBTOR}, DEBTOR),
        ("GOWS", {"fromMe": True, "from": DEBTOR, "to": None}, DEBTOR),
        ("NOWEB", {"fromMe": False, "from": "1@s.whatsapp.net"}, "1@c.us"),
        ("FUTURE", {"fromMe": False, "from": DEBTOR}, DEBTOR),
    ],
)
def test_ids_not_in_waha_format_fall_back_on_from_and_to(
    engine: str, fields: dict[str, Any], chat: str
) -> None:
    result = inbound(envelope("message.any", message(id="3EB0EEEE", **fields), engine=engine))
    assert result.chat_id == chat


def test_an_own_message_with_an_unusable_id_on_an_unknown_engine_is_refused() -> None:
    body = envelope("message.any", message(id="3EB0EEEE", fromMe=True), engine="FUTURE")
    with pytest.raises(WahaWireError, match="cannot tell the chat") as caught:
        run(body)
    assert caught.value.path == "$.payload.id"


@pytest.mark.parametrize(
    ("engine", "fields", "sender"),
    [
        ("WEBJS", {"from": "5511900000001@c.us"}, "5511900000001@c.us"),
        ("GOWS", {"participant": "144444444444444@lid"}, "144444444444444@lid"),
    ],
)
def test_own_sender_without_me(engine: str, fields: dict[str, Any], sender: str) -> None:
    payload = message(id=f"true_{DEBTOR}_3EB0", fromMe=True, **fields)
    assert inbound(envelope("message.any", payload, engine=engine, me=None)).sender == sender


def test_own_sender_without_me_or_hints_is_refused() -> None:
    payload = message(id=f"true_{DEBTOR}_3EB0", fromMe=True)
    with pytest.raises(WahaWireError) as caught:
        run(envelope("message.any", payload, engine="NOWEB", me=None))
    assert caught.value.path == "$.me"


@pytest.mark.parametrize("chat", ["status@broadcast", "120363111111111111@newsletter"])
def test_status_posts_and_channels_are_not_conversations(chat: str) -> None:
    result = ignored(envelope("message", message(id=f"false_{chat}_ABC_{DEBTOR}")))
    assert result.reason is IgnoreReason.NOT_A_CONVERSATION
    assert chat in result.detail


def test_media_fields() -> None:
    media = {"url": "http://waha/api/files/x.oga", "mimetype": "audio/ogg; codecs=opus"}
    result = inbound(envelope("message", message(hasMedia=True, media=media, body="")))
    assert (result.has_media, result.media_mimetype, result.body) == (
        True,
        "audio/ogg; codecs=opus",
        None,
    )


def test_media_that_was_not_downloaded_has_no_mimetype() -> None:
    result = inbound(envelope("message", message(hasMedia=True, media=None)))
    assert (result.has_media, result.media_mimetype) == (True, None)


def test_a_message_without_timestamp_takes_the_envelopes() -> None:
    result = inbound(envelope("message", message(timestamp=None)))
    assert result.timestamp == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    body = envelope("message", message(timestamp=None))
    del body["timestamp"]
    with pytest.raises(WahaWireError) as caught:
        run(body)
    assert caught.value.path == "$.payload.timestamp"


# --- acks -----------------------------------------------------------------------------------


def test_an_ack_becomes_a_delivery_status_change() -> None:
    assert run(envelope("message.ack", ack(4, "PLAYED"), engine="GOWS")) == NormalizedDelivery(
        session="tenant-a",
        waha_message_id="true_5511988887777@c.us_3EB0BBBB",
        chat_id=DEBTOR,
        ack=4,
        ack_name="PLAYED",
        from_me=True,
        is_group=False,
        occurred_at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    )


def test_error_is_a_delivery_status() -> None:
    result = run(envelope("message.ack", ack(-1, "ERROR")))
    assert isinstance(result, NormalizedDelivery)
    assert (result.ack, result.ack_name) == (Ack.ERROR, "ERROR")


def test_the_ack_name_is_the_canonical_name_of_the_number() -> None:
    result = run(envelope("message.ack", ack(3, "read")))
    assert isinstance(result, NormalizedDelivery)
    assert result.ack_name == "READ"


@pytest.mark.parametrize(
    ("level", "name"), [(None, "UNKNOWN"), (None, None), (0, "UNKNOWN"), (7, "FUTURE")]
)
def test_unknown_acks_are_ignored(level: int | None, name: str | None) -> None:
    result = ignored(envelope("message.ack", ack(level, name), engine="GOWS"))
    assert result.reason is IgnoreReason.UNKNOWN_ACK
    assert result.event == "message.ack"


def test_group_receipts_are_ignored() -> None:
    group = "120363000000000000@g.us"
    payload = ack(3, "READ", id=f"true_{group}_3EB0_{DEBTOR}", participant=DEBTOR)
    for event in ("message.ack.group", "message.ack"):
        assert ignored(envelope(event, payload)).reason is IgnoreReason.GROUP_RECEIPT


def test_an_ack_with_a_malformed_id_type_is_refused() -> None:
    with pytest.raises(WahaWireError) as caught:
        run(envelope("message.ack", ack(2, "DEVICE", id=["x"])))
    assert caught.value.path == "$.payload.id"


def test_acks_of_one_message_have_distinct_keys_per_level_and_repeat_per_level() -> None:
    def keys(level: int) -> tuple[str, ...]:
        return dedup_keys(decode_envelope(raw(envelope("message.ack", ack(level, "x"), id=None))))

    assert keys(2) != keys(3)
    assert keys(2) == keys(2)


def test_placeholder_envelope_ids_are_no_key() -> None:
    assert is_placeholder_envelope_id("evt_00000000000000000000000000")
    assert is_placeholder_envelope_id("evt_")
    assert not is_placeholder_envelope_id("evt_01jq0000000000000000000001")
    env = decode_envelope(raw(envelope("message", message(), id="evt_00000000000000000000000000")))
    assert all(not key.startswith('["envelope"') for key in dedup_keys(env))


def test_dedup_keys_never_raise_on_a_malformed_payload() -> None:
    for event in ("message", "message.ack", "session.status", "poll.vote"):
        env = decode_envelope(raw(envelope(event, {"id": 3, "ack": "x", "statuses": "y"})))
        assert dedup_keys(env) == ('["envelope","evt_01jq0000000000000000000099"]',)


def test_other_events_are_keyed_by_their_own_name() -> None:
    env = decode_envelope(raw(envelope("poll.vote", {"id": "false_1@c.us_P"}, id=None)))
    assert dedup_keys(env) == ('["payload","tenant-a","poll.vote","false_1@c.us_P"]',)


# --- sessions -------------------------------------------------------------------------------


def _status(status: str, history: list[tuple[str, int]]) -> dict[str, Any]:
    points = [{"status": name, "timestamp": ms} for name, ms in history]
    return envelope(
        "session.status", {"name": "tenant-a", "status": status, "statuses": points, "data": None}
    )


def test_a_re_emitted_qr_status_names_itself_as_previous() -> None:
    result = run(
        _status("SCAN_QR_CODE", [("STARTING", 1), ("SCAN_QR_CODE", 2), ("SCAN_QR_CODE", 3)])
    )
    assert result == NormalizedSessionStatus(
        session="tenant-a",
        status="SCAN_QR_CODE",
        previous="SCAN_QR_CODE",
        occurred_at=datetime(1970, 1, 1, 0, 0, 0, 3000, tzinfo=UTC),
    )


def test_session_history_is_read_in_time_order() -> None:
    result = run(_status("FAILED", [("FAILED", 30), ("STARTING", 10), ("WORKING", 20)]))
    assert isinstance(result, NormalizedSessionStatus)
    assert result.previous == "WORKING"


def test_session_history_without_the_current_status() -> None:
    result = run(_status("FAILED", [("STARTING", 10), ("WORKING", 20)]))
    assert isinstance(result, NormalizedSessionStatus)
    assert result.previous == "WORKING"
    assert result.occurred_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # the envelope's


def test_session_without_history() -> None:
    assert run(_status("STOPPED", [])) == NormalizedSessionStatus(
        session="tenant-a",
        status="STOPPED",
        previous=None,
        occurred_at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    )


# --- ignored events -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event", ["message.edited", "message.revoked", "message.waiting", "poll.vote", "brand.new"]
)
def test_other_events_are_ignored_without_reading_their_payload(event: str) -> None:
    result = ignored(envelope(event, {"anything": [1, 2]}))
    assert result == Ignored(
        session="tenant-a",
        event=event,
        reason=IgnoreReason.UNSUPPORTED_EVENT,
        detail=result.detail,
    )
    assert event in result.detail


# --- the values fit the event records -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "record"),
    [
        ("01_message_text_inbound_webjs.json", InboundMessage),
        ("07_message_ack_device_gows.json", DeliveryStatusChanged),
        ("13_session_status_working.json", SessionStatusChanged),
    ],
)
def test_event_fields_build_the_faust_record(name: str, record: type[Any]) -> None:
    result = normalize(decode_envelope(raw(fixture_json(name))))
    assert not isinstance(result, Ignored)
    assert result.event_type == record.__name__
    header = new_header(
        result.event_type,
        tenant_id="acme",
        correlation_id="c",
        causation_id=None,
        source="waha",
        occurred_at=result.occurred_at or datetime(2026, 1, 1, tzinfo=UTC),
    )
    event = record(header=header, **result.event_fields())
    for field, value in result.event_fields().items():
        assert getattr(event, field) == value
    fields = set(record._options.fields) - {"header", "request_id"}
    assert set(result.event_fields()) == fields


# --- purity ---------------------------------------------------------------------------------

PURE = ["connectors/waha/wire.py", "connectors/waha/normalize.py", "connectors/waha/signatures.py"]
FORBIDDEN = {"faust", "aiokafka", "aiohttp", "clickhouse_connect", "chdb", "structlog", "logging"}
FORBIDDEN |= {"schemas", "socket", "time", "os", "random", "uuid"}


@pytest.mark.parametrize("path", PURE)
def test_pure_modules_import_no_io(path: str) -> None:
    tree = ast.parse((Path(__file__).resolve().parents[3] / path).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint(FORBIDDEN), imported & FORBIDDEN


def test_the_normalize_module_is_not_shadowed_by_its_function() -> None:
    assert isinstance(connectors.waha.normalize, ModuleType)
