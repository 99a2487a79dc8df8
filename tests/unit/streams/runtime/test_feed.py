"""The batch feed's decoding: what the ledger agent decides on, or dead-letters."""

from __future__ import annotations

from schemas.codec import Undecodable, encode
from streams.runtime.feed import decode
from streams.runtime.log_reader import event_from
from tests.factories import send_requested


def test_a_record_decodes_to_the_event_the_log_reader_gives() -> None:
    request = send_requested("t1", "r1", phone="+5511999990000")
    data = encode(request.to_representation())
    decoded = decode(data)
    assert decoded == event_from(data) == request
    assert type(decoded) is type(request)


def test_garbage_and_empty_values_become_undecodable() -> None:
    garbage = decode(b"\x00\x00\x00\x00\x01nope")
    assert isinstance(garbage, Undecodable) and garbage.data == b"\x00\x00\x00\x00\x01nope"
    empty = decode(None)
    assert isinstance(empty, Undecodable) and empty.data == b""
