"""The wire format: envelopes parse leniently where WAHA varies, and refuse clearly otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.waha.errors import WahaWireError
from connectors.waha.wire import (
    Me,
    MessageId,
    canonical_jid,
    decode_envelope,
    envelope_from_object,
    link_key,
    message_id_from_send_response,
    parse_message,
    parse_message_ack,
    parse_message_id,
    parse_message_reaction,
    parse_session_status,
)
from streams.domain.normalized import Ack
from tests.unit.waha.envelopes import ack, envelope, message, raw
from tests.unit.waha.shared_fixtures import fixture_bytes, fixture_json

# --- envelopes ------------------------------------------------------------------------------


def test_envelope_fields_are_typed() -> None:
    env = decode_envelope(fixture_bytes("07_message_ack_device_gows.json"))
    assert env.id == "evt_00000000000000000000000000"
    assert env.event == "message.ack"
    assert env.session == "default"
    assert env.engine == "GOWS"
    assert env.timestamp is None  # GOWS ack fixtures carry no envelope timestamp
    assert dict(env.metadata) == {}  # nor metadata
    assert env.me == Me(
        id="444444444444@c.us",
        push_name="",
        lid="144444444444444@lid",
        jid="444444444444:42@s.whatsapp.net",
    )
    assert env.environment is not None
    assert env.environment.version == "2025.10.4"
    assert env.environment.browser is None


def test_envelope_timestamp_is_milliseconds_and_metadata_is_kept() -> None:
    env = decode_envelope(fixture_bytes("01_message_text_inbound_webjs.json"))
    assert env.timestamp == datetime(2022, 11, 4, 11, 31, 25, 123000, tzinfo=UTC)
    assert env.metadata["user.id"] == "123"


def test_me_is_null_before_pairing() -> None:
    assert decode_envelope(fixture_bytes("14_session_status_scan_qr_code.json")).me is None


def test_engine_falls_back_to_the_environment() -> None:
    body = envelope("message", message())
    del body["engine"]
    body["environment"] = {"engine": "NOWEB"}
    assert envelope_from_object(body).engine == "NOWEB"


def test_optional_envelope_fields_may_be_absent() -> None:
    env = envelope_from_object({"event": "message", "session": "s", "payload": {}})
    assert env.id is None and env.timestamp is None and env.engine is None and env.me is None


def _wire_error(body: Any, source: str | None = "body.json") -> WahaWireError:
    data = body if isinstance(body, bytes) else raw(body)
    with pytest.raises(WahaWireError) as caught:
        decode_envelope(data, source=source)
    return caught.value


def test_invalid_json_names_the_source_and_the_root() -> None:
    error = _wire_error(b'{"event": "message",')
    assert error.path == "$"
    assert error.source == "body.json"
    assert str(error).startswith("body.json: $: not valid JSON")
    assert "A WAHA webhook body is a JSON object" in str(error)


@pytest.mark.parametrize("body", [[], "message", 3, None, True])
def test_a_body_that_is_not_an_object_is_refused(body: Any) -> None:
    error = _wire_error(body)
    assert error.path == "$"
    assert error.reason.startswith("expected a JSON object, got ")


@pytest.mark.parametrize(
    ("field", "value", "path", "reason"),
    [
        ("event", None, "$.event", "required field is null"),
        ("session", 42, "$.session", "expected a string, got number 42"),
        ("payload", [], "$.payload", "expected an object, got an array of 0 items"),
        ("payload", None, "$.payload", "missing required field"),
        ("timestamp", "yesterday", "$.timestamp", 'Unix time in milliseconds, got string "ye'),
        ("timestamp", -1, "$.timestamp", "Unix time in milliseconds, got number -1"),
        ("timestamp", 1e30, "$.timestamp", "out of range"),
        ("metadata", "x", "$.metadata", 'expected an object, got string "x"'),
        ("me", {"pushName": "x"}, "$.me.id", "missing required field"),
        ("engine", True, "$.engine", "expected a string, got boolean true"),
        ("id", 7, "$.id", "expected a string, got number 7"),
    ],
)
def test_a_bad_envelope_field_is_named_by_its_path(
    field: str, value: Any, path: str, reason: str
) -> None:
    body = envelope("message", message())
    body[field] = value
    error = _wire_error(body)
    assert error.path == path
    assert reason in error.reason
    assert str(error).startswith(f"body.json: {path}: ")


def test_nested_fields_are_named_by_their_full_path() -> None:
    body = envelope("message", message())
    body["environment"] = {"worker": {"id": 1}}
    assert _wire_error(body).path == "$.environment.worker.id"
    body = envelope("message", message())
    body["payload"]["media"] = {"mimetype": ["image/jpeg"]}
    env = decode_envelope(raw(body))
    with pytest.raises(WahaWireError) as caught:
        parse_message(env)
    assert caught.value.path == "$.payload.media.mimetype"


def test_without_a_source_the_message_starts_with_the_path() -> None:
    assert str(_wire_error({"event": "message"}, source=None)).startswith("$: not a WAHA")


# --- payloads -------------------------------------------------------------------------------


def test_message_payload() -> None:
    env = decode_envelope(fixture_bytes("03_message_image_inbound.json"))
    msg = parse_message(env)
    assert msg.id == "false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert msg.from_me is False
    assert msg.timestamp == datetime(2022, 11, 4, 11, 31, 25, tzinfo=UTC)
    assert (msg.from_, msg.to, msg.participant) == ("11111111111@c.us", "22222222222@c.us", None)
    assert msg.source == "app"
    assert msg.has_media is True
    assert msg.media is not None
    assert msg.media.mimetype == "image/jpeg"
    assert msg.media.filename is None
    assert msg.media.url is not None and msg.media.url.endswith(".jpg")
    assert (msg.ack, msg.ack_name) == (Ack.SERVER, "SERVER")


def test_from_me_defaults_to_the_id_prefix_when_absent() -> None:
    payload = message(id="true_5511988887777@c.us_X")
    del payload["fromMe"]
    assert parse_message(decode_envelope(raw(envelope("message.any", payload)))).from_me is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1710481111.853, datetime(2024, 3, 15, 5, 38, 31, 853000, tzinfo=UTC)),
        ("1738070128", datetime(2025, 1, 28, 13, 15, 28, tzinfo=UTC)),  # NOWEB Long as string
    ],
)
def test_payload_timestamps_are_seconds_as_aware_utc(value: Any, expected: datetime) -> None:
    msg = parse_message(decode_envelope(raw(envelope("message", message(timestamp=value)))))
    assert msg.timestamp == expected
    assert msg.timestamp is not None and msg.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    ("fields", "path", "reason"),
    [
        ({"id": None}, "$.payload.id", "required field is null"),
        ({"fromMe": "false"}, "$.payload.fromMe", 'expected a boolean, got string "false"'),
        ({"hasMedia": 1}, "$.payload.hasMedia", "expected a boolean, got number 1"),
        ({"body": {"text": "x"}}, "$.payload.body", "expected a string, got an object"),
        ({"ack": 1.5}, "$.payload.ack", "expected an integer, got number 1.5"),
        ({"ack": True}, "$.payload.ack", "expected an integer, got boolean true"),
        ({"timestamp": [1]}, "$.payload.timestamp", "Unix time in seconds, got an array"),
    ],
)
def test_a_bad_message_field_is_named_by_its_path(
    fields: dict[str, Any], path: str, reason: str
) -> None:
    body = raw(envelope("message", message(**fields)))
    env = decode_envelope(body, source="topic[2]@17")
    with pytest.raises(WahaWireError) as caught:
        parse_message(env)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"topic[2]@17: {path}: ")


def test_ack_payload_keeps_null_and_unknown() -> None:
    env = decode_envelope(raw(envelope("message.ack", ack(None, "UNKNOWN"), engine="GOWS")))
    parsed = parse_message_ack(env)
    assert (parsed.ack, parsed.ack_name, parsed.from_me) == (None, "UNKNOWN", True)


def test_ack_payload_may_be_minimal() -> None:
    env = decode_envelope(raw(envelope("message.ack", {"id": "true_1@c.us_A", "ack": 2.0})))
    parsed = parse_message_ack(env)
    assert (parsed.ack, parsed.from_me, parsed.from_, parsed.to) == (2, True, None, None)


def test_session_status_payload_keeps_its_history() -> None:
    status = parse_session_status(decode_envelope(fixture_bytes("13_session_status_working.json")))
    assert status.status == "WORKING"
    assert status.name == "default"
    assert [point.status for point in status.statuses] == ["STOPPED", "STARTING", "WORKING"]
    assert status.statuses[0].timestamp == datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)
    assert status.data is None


@pytest.mark.parametrize(
    ("statuses", "path"),
    [
        ([1], "$.payload.statuses[0]"),
        ([{"status": "WORKING"}], "$.payload.statuses[0].timestamp"),
        ([{"timestamp": 1}], "$.payload.statuses[0].status"),
        ({"status": "WORKING"}, "$.payload.statuses"),
    ],
)
def test_a_bad_status_history_is_named_by_its_path(statuses: Any, path: str) -> None:
    payload = {"name": "default", "status": "WORKING", "statuses": statuses}
    with pytest.raises(WahaWireError) as caught:
        parse_session_status(decode_envelope(raw(envelope("session.status", payload))))
    assert caught.value.path == path


def test_reaction_payload_has_a_fractional_timestamp() -> None:
    env = decode_envelope(fixture_bytes("16_message_reaction_webjs.json"))
    reaction = parse_message_reaction(env)
    assert reaction.reaction.text == "🙏"
    assert reaction.reaction.message_id == "true_79111111@c.us_11111111111111111111111111111111"
    assert reaction.timestamp == datetime(2024, 3, 15, 5, 38, 31, 853000, tzinfo=UTC)
    assert reaction.participant == "79111111@c.us"  # WEBJS sets it in a direct chat


# --- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        (
            "false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            MessageId(False, "11111111111@c.us", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        ("true_11111111111@c.us_AAA", MessageId(True, "11111111111@c.us", "AAA")),
        (
            "false_222222222222222222@g.us_AAAAAAAAAAAAAAAAAAAA_2132132130@c.us",
            MessageId(False, "222222222222222222@g.us", "AAAAAAAAAAAAAAAAAAAA", "2132132130@c.us"),
        ),
        (
            "false_120363000000000000@g.us_3EB0CC_123456789012345@lid",
            MessageId(False, "120363000000000000@g.us", "3EB0CC", "123456789012345@lid"),
        ),
        ("false_123456789012345@lid_3EB0DD", MessageId(False, "123456789012345@lid", "3EB0DD")),
        (
            "true_5511988887777@s.whatsapp.net_3EB0EE",
            MessageId(True, "5511988887777@s.whatsapp.net", "3EB0EE"),
        ),
        (
            "false_status@broadcast_ABC_1@c.us",
            MessageId(False, "status@broadcast", "ABC", "1@c.us"),
        ),
    ],
)
def test_message_ids_split_into_their_parts(message_id: str, expected: MessageId) -> None:
    assert parse_message_id(message_id) == expected


def test_ids_in_the_shared_request_samples_parse() -> None:
    seen = fixture_json("support/sendseen_request_group.json")
    parsed = parse_message_id(seen["messageIds"][0])
    assert parsed is not None and parsed.participant == seen["participant"]
    reply = fixture_json("support/sendtext_request_reply_mention.json")
    parsed = parse_message_id(reply["reply_to"])
    assert parsed is not None and parsed.chat == reply["chatId"]


@pytest.mark.parametrize(
    "message_id",
    [
        "",
        "3EB0AAAA",
        "maybe_1@c.us_A",
        "false_1@c.us",
        "false_1@c.us_",
        "false_nochat_A",
        "true__A",
    ],
)
def test_ids_not_in_waha_format_are_none(message_id: str) -> None:
    assert parse_message_id(message_id) is None


@pytest.mark.parametrize(
    ("jid", "expected"),
    [
        ("5511988887777@c.us", "5511988887777@c.us"),
        ("5511988887777@s.whatsapp.net", "5511988887777@c.us"),
        ("11111111111:3@s.whatsapp.net", "11111111111@c.us"),
        ("444444444444:42@c.us", "444444444444@c.us"),
        ("144444444444444@lid", "144444444444444@lid"),
        ("120363000000000000@g.us", "120363000000000000@g.us"),
        ("status@broadcast", "status@broadcast"),
        ("123@newsletter", "123@newsletter"),
        ("no-at-sign", "no-at-sign"),
    ],
)
def test_canonical_jid(jid: str, expected: str) -> None:
    assert canonical_jid(jid) == expected


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("true_5511988887777@c.us_3EB0", "true_5511988887777@c.us_3EB0"),
        ("true_5511988887777@c.us_3EB0_5511900000000@c.us", "true_5511988887777@c.us_3EB0"),
        ("true_5511988887777@s.whatsapp.net_3EB0", "true_5511988887777@c.us_3EB0"),
        ("false_120363000000000000@g.us_AB_1@lid", "false_120363000000000000@g.us_AB"),
        ("3EB0", "3EB0"),
    ],
)
def test_link_key_matches_a_send_with_its_acks(message_id: str, expected: str) -> None:
    assert link_key(message_id) == expected


def test_link_key_joins_the_noweb_send_response_and_its_ack_id() -> None:
    sent = message_id_from_send_response(fixture_json("18_sendtext_response_noweb.json"))
    assert link_key(sent) == link_key("true_111111111111@c.us_3EB08A6895830F110A5E4D")


# --- send responses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": {"_serialized": "true_1@c.us_W", "id": "W"}, "ack": 0}, "true_1@c.us_W"),  # WEBJS
        ({"id": "true_1@c.us_G_5511@c.us", "_data": {}}, "true_1@c.us_G_5511@c.us"),  # GOWS
        ({"key": {"remoteJid": "1@s.whatsapp.net", "fromMe": True, "id": "N"}}, "true_1@c.us_N"),
    ],
)
def test_send_response_message_id_per_engine(body: Any, expected: str) -> None:
    assert message_id_from_send_response(body) == expected


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (None, "#1083"),
        ({}, "got an empty object. WEBJS 2025.6.x"),
        ("", "#1083"),
        ([1], "expected a send response object"),
        ({"status": "PENDING"}, "no message id"),
        ({"key": {"id": "N"}}, "$.key.remoteJid"),
    ],
)
def test_send_response_without_an_id_is_refused(body: Any, fragment: str) -> None:
    with pytest.raises(WahaWireError) as caught:
        message_id_from_send_response(body, source="POST /api/sendText")
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("POST /api/sendText: $")


# --- the envelope's head (what the receiver checks) ------------------------------------------

HEAD_FIXTURES = [
    "01_message_text_inbound_webjs.json",
    "07_message_ack_device_gows.json",
    "13_session_status_working.json",
    "16_message_reaction_webjs.json",
]


@pytest.mark.parametrize("name", HEAD_FIXTURES)
def test_the_head_has_the_envelope_s_required_fields(name: str) -> None:
    from connectors.waha.wire import decode_envelope_head

    full = decode_envelope(fixture_bytes(name))
    head = decode_envelope_head(fixture_bytes(name))
    assert (head.event, head.session, head.id, head.payload) == (
        full.event,
        full.session,
        full.id,
        full.payload,
    )


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{oops", "$"),
        (b"[]", "$"),
        (raw({"id": "evt_1"}), "$"),
        (raw(envelope("message", None)), "$.payload"),
        (raw(envelope("message", [1])), "$.payload"),
        (raw(envelope(7, {})), "$.event"),
        (raw(envelope("message", {}, id=5)), "$.id"),
    ],
)
def test_the_head_refuses_what_decode_refuses_at_the_same_path(body: bytes, path: str) -> None:
    from connectors.waha.wire import decode_envelope_head

    with pytest.raises(WahaWireError) as head:
        decode_envelope_head(body)
    with pytest.raises(WahaWireError) as full:
        decode_envelope(body)
    assert head.value.path == full.value.path == path
