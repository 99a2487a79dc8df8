"""The hand-written WahaCallbackReceived encoder writes exactly what fastavro writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.callback_writer import encode_callback
from schemas.codec import decode, encode_datum

TEXT = st.text(max_size=40)
MOMENTS = st.integers(min_value=0, max_value=2**42).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)


@st.composite
def datums(draw: st.DrawFn) -> dict[str, Any]:
    moment = draw(MOMENTS)
    return {
        "header": {
            "event_id": draw(TEXT),
            "event_type": "WahaCallbackReceived",
            "schema_version": draw(st.integers(min_value=-(2**31), max_value=2**31 - 1)),
            "tenant_id": draw(TEXT),
            "occurred_at": moment,
            "correlation_id": draw(TEXT),
            "source": draw(TEXT),
            "causation_id": draw(st.none() | TEXT),
        },
        "body": draw(st.binary(max_size=300)),
        "headers": draw(st.dictionaries(TEXT, TEXT, max_size=6)),
        "received_at": draw(MOMENTS),
        "session": draw(st.none() | TEXT),
        "remote": draw(st.none() | TEXT),
    }


@settings(max_examples=300, deadline=None)
@given(datums())
def test_the_bytes_are_fastavro_s(datum: dict[str, Any]) -> None:
    assert encode_callback(datum) == encode_datum("WahaCallbackReceived", datum)


def test_a_real_callback_round_trips() -> None:
    moment = datetime(2026, 12, 4, 17, 30, 1, 234000, tzinfo=UTC)
    datum = {
        "header": {
            "event_id": "8f0c",
            "event_type": "WahaCallbackReceived",
            "schema_version": 1,
            "tenant_id": "acme",
            "occurred_at": moment,
            "correlation_id": "evt_01",
            "source": "connectors.waha.receiver",
            "causation_id": None,
        },
        "body": '{"event":"message","olá":"ç"}'.encode(),
        "headers": {"x-webhook-hmac": "ab" * 64, "content-type": "application/json"},
        "received_at": moment,
        "session": "default",
        "remote": None,
    }
    decoded = decode(encode_callback(datum))
    assert decoded["body"] == datum["body"]
    assert decoded["headers"] == datum["headers"]
    assert decoded["received_at"] == moment
    assert decoded["header"]["occurred_at"] == moment
