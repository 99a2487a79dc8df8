"""Every fixture in shared/waha/fixtures, normalized: one test each, every field asserted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.waha.errors import WahaWireError
from connectors.waha.normalize import dedup_keys, normalize
from connectors.waha.wire import decode_envelope, message_id_from_send_response
from streams.domain.normalized import (
    Ignored,
    IgnoreReason,
    Normalized,
    NormalizedDelivery,
    NormalizedInbound,
    NormalizedSessionStatus,
)
from tests.unit.waha import shared_fixtures
from tests.unit.waha.shared_fixtures import fixture_bytes, fixture_json, fixtures_dir

SENT_AT = datetime(2022, 11, 4, 11, 31, 25, tzinfo=UTC)  # payload timestamp 1667561485 (s)
TEXT_ID = "false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
GOWS_SENT_ID = "true_11111111111@c.us_3333333333333333333333"
WEBJS_SENT_ID = "true_11111111111@c.us_AAA"
CHAT = "11111111111@c.us"

EXPECTED: dict[str, Normalized] = {
    "01_message_text_inbound_webjs.json": NormalizedInbound(
        session="default",
        waha_message_id=TEXT_ID,
        chat_id=CHAT,
        sender=CHAT,
        is_group=False,
        from_me=False,
        has_media=False,
        timestamp=SENT_AT,
        body="Hi there!",
        media_mimetype=None,
    ),
    "03_message_image_inbound.json": NormalizedInbound(
        session="default",
        waha_message_id=TEXT_ID,
        chat_id=CHAT,
        sender=CHAT,
        is_group=False,
        from_me=False,
        has_media=True,
        timestamp=SENT_AT,
        body="Check this out (caption for the media)!",
        media_mimetype="image/jpeg",
    ),
    "04_message_document_pdf_inbound.json": NormalizedInbound(
        session="default",
        waha_message_id="false_11111111111@c.us_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        chat_id=CHAT,
        sender=CHAT,
        is_group=False,
        from_me=False,
        has_media=True,
        timestamp=SENT_AT,
        body=None,  # an empty caption is no text
        media_mimetype="application/pdf",
    ),
    # GOWS: `from` is the chat, `to` is null, no envelope timestamp.
    "07_message_ack_device_gows.json": NormalizedDelivery(
        session="default",
        waha_message_id=GOWS_SENT_ID,
        chat_id=CHAT,
        ack=2,
        ack_name="DEVICE",
        from_me=True,
        is_group=False,
        occurred_at=None,
    ),
    "08_message_ack_read_gows.json": NormalizedDelivery(
        session="default",
        waha_message_id=GOWS_SENT_ID,
        chat_id=CHAT,
        ack=3,
        ack_name="READ",
        from_me=True,
        is_group=False,
        occurred_at=None,
    ),
    # WEBJS: `from` is our own account (444444444444@c.us), `to` the chat; the id decides.
    "11_message_ack_device_webjs.json": NormalizedDelivery(
        session="default",
        waha_message_id=WEBJS_SENT_ID,
        chat_id=CHAT,
        ack=2,
        ack_name="DEVICE",
        from_me=True,
        is_group=False,
        occurred_at=None,
    ),
    "12_message_ack_read_webjs.json": NormalizedDelivery(
        session="default",
        waha_message_id=WEBJS_SENT_ID,
        chat_id=CHAT,
        ack=3,
        ack_name="READ",
        from_me=True,
        is_group=False,
        occurred_at=None,
    ),
    "13_session_status_working.json": NormalizedSessionStatus(
        session="default",
        status="WORKING",
        previous="STARTING",
        occurred_at=datetime(2023, 11, 14, 22, 13, 23, tzinfo=UTC),  # the WORKING point
    ),
    "14_session_status_scan_qr_code.json": NormalizedSessionStatus(
        session="default",
        status="SCAN_QR_CODE",
        previous="STARTING",
        occurred_at=datetime(2023, 11, 14, 22, 13, 22, 500000, tzinfo=UTC),
    ),
    "16_message_reaction_webjs.json": Ignored(
        session="default",
        event="message.reaction",
        reason=IgnoreReason.REACTION,
        detail="reactions are not replies; cobranca does not act on them",
    ),
}

EXPECTED_KEYS: dict[str, tuple[str, ...]] = {
    "01_message_text_inbound_webjs.json": (
        '["envelope","evt_01jq0000000000000000000001"]',
        f'["payload","default","message","{TEXT_ID}"]',
    ),
    # The same payload id as 01 (WAHA's documentation reuses it): a duplicate by design.
    "03_message_image_inbound.json": (
        '["envelope","evt_01jq0000000000000000000003"]',
        f'["payload","default","message","{TEXT_ID}"]',
    ),
    "04_message_document_pdf_inbound.json": (
        '["envelope","evt_01jq0000000000000000000004"]',
        '["payload","default","message","false_11111111111@c.us_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"]',
    ),
    # The ack fixtures share the placeholder envelope id evt_000...0: no envelope key.
    "07_message_ack_device_gows.json": (f'["payload","default","message.ack","{GOWS_SENT_ID}",2]',),
    "08_message_ack_read_gows.json": (f'["payload","default","message.ack","{GOWS_SENT_ID}",3]',),
    "11_message_ack_device_webjs.json": (
        f'["payload","default","message.ack","{WEBJS_SENT_ID}",2]',
    ),
    "12_message_ack_read_webjs.json": (f'["payload","default","message.ack","{WEBJS_SENT_ID}",3]',),
    "13_session_status_working.json": (
        '["envelope","evt_01jq0000000000000000000013"]',
        '["payload","default","session.status","WORKING",1700000003000]',
    ),
    "14_session_status_scan_qr_code.json": (
        '["envelope","evt_01jq0000000000000000000014"]',
        '["payload","default","session.status","SCAN_QR_CODE",1700000002500]',
    ),
    "16_message_reaction_webjs.json": (
        '["envelope","evt_01jq0000000000000000000016"]',
        '["payload","default","message.reaction",'
        '"false_79111111@c.us_11111111111111111111111111111111"]',
    ),
}

NOT_WEBHOOKS = {"18_sendtext_response_noweb.json"}


def test_every_fixture_has_a_test() -> None:
    present = {path.name for path in fixtures_dir().glob("*.json")}
    assert present == set(EXPECTED) | NOT_WEBHOOKS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_normalizes(name: str) -> None:
    envelope = decode_envelope(fixture_bytes(name), source=name)
    assert normalize(envelope) == EXPECTED[name]
    assert dedup_keys(envelope) == EXPECTED_KEYS[name]


def test_fixture_18_sendtext_response_noweb_is_not_a_webhook_but_yields_its_message_id() -> None:
    name = "18_sendtext_response_noweb.json"
    with pytest.raises(WahaWireError) as caught:
        decode_envelope(fixture_bytes(name), source=name)
    assert caught.value.path == "$"
    assert caught.value.source == name
    assert 'missing required fields "event", "session", "payload"' in str(caught.value)
    assert "NOWEB send API response" in str(caught.value)
    # The dispatcher's view of the same body: Baileys' key, chat in its @c.us form.
    assert (
        message_id_from_send_response(fixture_json(name))
        == "true_111111111111@c.us_3EB08A6895830F110A5E4D"
    )


def test_a_missing_fixtures_directory_fails_the_tests_with_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "shared" / "waha" / "fixtures"
    monkeypatch.setattr(shared_fixtures, "FIXTURES_DIR", missing)
    with pytest.raises(pytest.fail.Exception, match=r"WAHA fixtures not found at .*shared/waha"):
        shared_fixtures.fixture_bytes("01_message_text_inbound_webjs.json")
