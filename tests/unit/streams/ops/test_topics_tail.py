"""`cobranca topics tail`'s lines: kcat's shape, masked unless asked, never stopped by bad bytes."""

from __future__ import annotations

import json

from schemas.codec import encode
from streams.ops.topics_tail import record_document, record_line
from streams.runtime.log_reader import LogRecord
from tests.factories import client_imported

EVENT = client_imported("acme", 7, phone="+5511987654321", document="52998224725")


def _record(value: bytes | None, key: bytes | None = b"acme") -> LogRecord:
    return LogRecord("cobranca.clients", 2, 41, key, value)


def test_a_line_is_position_key_type_and_the_event_masked() -> None:
    document = record_document(_record(encode(EVENT.to_representation())))
    line = record_line(document)
    assert line.startswith("cobranca.clients[2]@41 acme ClientImported {")
    event = json.loads(line.split(" ", 3)[3])
    assert event["client_id"] == EVENT.client_id and event["row"] == EVENT.row
    assert "5511987654321" not in line and "52998224725" not in line
    assert event["phone_e164"] == "55119****21"


def test_unmasked_shows_the_real_values() -> None:
    document = record_document(_record(encode(EVENT.to_representation())), unmasked=True)
    assert document["event"]["phone_e164"] == "+5511987654321"
    assert document["event"]["document"] == "52998224725"
    assert "__faust" not in document["event"]
    assert (document["partition"], document["offset"], document["key"]) == (2, 41, "acme")


def test_tombstones_and_undecodable_values_are_lines_too() -> None:
    assert record_line(record_document(_record(None, key=None))).endswith("- (tombstone)")
    bad = record_document(_record(b"\x01garbage"))
    assert bad["event"] is None and "magic byte" in bad["undecodable"]
    assert " UNDECODABLE magic byte" in record_line(bad)
