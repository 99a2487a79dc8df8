"""Messages sent through the API: what is valid, what it becomes, and where a send stands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.events import SendKind
from streams.domain.errors import InvalidMessage
from streams.domain.messages import (
    API_STEP,
    MAX_BATCH,
    SendStatus,
    parse_messages,
    send_request,
    send_status,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_one_message_or_a_batch() -> None:
    [one] = parse_messages({"to": "(11) 98765-4321", "text": "Olá"})
    assert one.phone_e164 == "+5511987654321" and one.kind is SendKind.TEXT
    assert one.client_id == "+5511987654321"
    batch = parse_messages(
        {
            "messages": [
                {"to": "+5511987654321", "text": "a", "client_id": "c-1"},
                {
                    "to": "21 98765-4321",
                    "file": {"url": "https://x.example/b.pdf", "name": "b.pdf"},
                },
            ]
        }
    )
    assert [d.kind for d in batch] == [SendKind.TEXT, SendKind.FILE]
    assert batch[0].client_id == "c-1" and batch[1].file_name == "b.pdf"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"text": "oi"}, "message.to is required"),
        ({"to": "123", "text": "oi"}, "message.to:"),
        ({"to": "+5511987654321"}, "needs text, a file, or both"),
        ({"to": "+5511987654321", "text": ""}, "message.text must be non-empty"),
        ({"to": "+5511987654321", "text": "x" * 5000}, "longer than 4096"),
        ({"to": "+5511987654321", "file": {"url": "ftp://x"}}, "http(s) URL"),
        ({"to": "+5511987654321", "text": "a", "cc": "b"}, "unknown fields: cc"),
        ({"messages": []}, "1 to 1000"),
        ({"messages": [{"to": "+5511987654321", "text": "a"}] * (MAX_BATCH + 1)}, "1 to 1000"),
        ({"messages": [{"to": "+5511987654321", "text": "a"}, {"to": "x"}]}, "messages[1].to"),
        ([1, 2], "message must be an object"),
    ],
)
def test_a_bad_message_names_its_field(body: object, says: str) -> None:
    with pytest.raises(InvalidMessage, match=None) as refused:
        parse_messages(body)
    assert says in str(refused.value)


def test_a_draft_becomes_a_send_request_of_the_api_step() -> None:
    [draft] = parse_messages({"to": "+5511987654321", "text": "Olá", "session": "s1"})
    event = send_request("acme", draft, "r-1", batch_id="b-1", source="api key:k", now=NOW)
    assert (event.request_id, event.step, event.session, event.batch_id) == (
        "r-1",
        API_STEP,
        "s1",
        "b-1",
    )
    assert event.header.tenant_id == "acme" and event.header.correlation_id == "r-1"


def test_the_furthest_status_wins_whatever_the_order() -> None:
    assert send_status([]) is None
    assert send_status([("SendRequested", {})]) is SendStatus.REQUESTED
    assert send_status([("SendRequested", {}), ("SendRejected", {})]) is SendStatus.REJECTED
    events = [
        ("DeliveryStatusChanged", {"ack": 3}),
        ("MessageDispatched", {}),
        ("SendApproved", {}),
        ("DeliveryStatusChanged", {"ack": 2}),
    ]
    assert send_status(events) is SendStatus.READ
    assert (
        send_status([("SendApproved", {}), ("DispatchFailed", {"retryable": True})])
        is SendStatus.APPROVED
    )
    assert (
        send_status([("SendApproved", {}), ("DispatchFailed", {"retryable": False})])
        is SendStatus.FAILED
    )
