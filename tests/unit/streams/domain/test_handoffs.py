"""Hand-offs for operators: open and resolved, resolutions, corrections as training rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import Event
from streams.domain.conversations import correction_for
from streams.domain.errors import HandoffError
from streams.domain.handoffs import corrections, handoffs_from, resolution_for
from tests.factories import handoff_requested, handoff_resolved, inbound_message

T0 = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


def _story() -> tuple[list[Event], list[Event]]:
    first = handoff_requested("acme", reason="dispute", at=T0)
    first.waha_message_id = "m1"
    second = handoff_requested("acme", reason="low_confidence", at=T0 + timedelta(minutes=5))
    second.waha_message_id = "m2"
    other = handoff_requested("beta", at=T0 + timedelta(minutes=1))
    actions: list[Event] = [second, first, other]
    conversations: list[Event] = [
        inbound_message("acme", message_id="m1", body="isso não é meu"),
        inbound_message("acme", message_id="m2", body="hmm talvez 🤔"),
        handoff_resolved("acme", first.header.event_id, label="dispute", message_id="m1"),
    ]
    return actions, conversations


def test_hand_offs_come_oldest_first_with_their_text_and_resolution() -> None:
    actions, conversations = _story()
    found = handoffs_from(actions, conversations)
    assert [h.request.reason for h in found] == ["dispute", "dispute", "low_confidence"]
    first = found[0]
    assert first.text == "isso não é meu" and not first.is_open
    assert first.resolution is not None and first.resolution.label == "dispute"
    assert found[2].text == "hmm talvez 🤔" and found[2].is_open
    assert found[1].tenant_id == "beta" and found[1].text is None


def test_resolving_names_the_handoff_chat_client_and_message() -> None:
    actions, conversations = _story()
    open_ = handoffs_from(actions, conversations)[2]
    resolution = resolution_for(open_, "negotiate", resume=False, operator="ana", note="ok")
    assert resolution.handoff_id == open_.handoff_id
    assert resolution.header.causation_id == open_.handoff_id
    assert (resolution.chat_id, resolution.client_id) == (open_.request.chat_id, "c1")
    assert (resolution.waha_message_id, resolution.label, resolution.resume) == (
        "m2",
        "negotiate",
        False,
    )


def test_a_resolution_needs_a_known_label_and_an_open_handoff() -> None:
    actions, conversations = _story()
    found = handoffs_from(actions, conversations)
    with pytest.raises(HandoffError, match="unknown label 'wrong_number'"):
        resolution_for(found[2], "wrong_number")
    with pytest.raises(HandoffError, match="resolved already"):
        resolution_for(found[0], "dispute")


def test_corrections_are_text_and_label_rows_the_latest_label_winning() -> None:
    _, conversations = _story()
    conversations.append(handoff_resolved("acme", "h-x", label="other", message_id="m2"))
    conversations.append(handoff_resolved("acme", "h-y", label="negotiate", message_id="m2"))
    conversations.append(handoff_resolved("acme", "h-z", label="other", message_id="unknown"))
    rows = corrections(conversations)
    assert rows == [
        {"text": "isso não é meu", "label": "dispute"},
        {"text": "hmm talvez 🤔", "label": "negotiate"},
    ]
    assert corrections(conversations, tenant="beta") == []
    assert json.loads(json.dumps(rows[1], ensure_ascii=False)) == rows[1]


def test_corrections_include_intent_corrections_the_latest_word_winning() -> None:
    _, conversations = _story()
    conversations.append(
        correction_for(
            "acme",
            "5511987654321@c.us",
            "m2",
            "promise_to_pay",
            classified_label="other",
            client_id="c1",
            operator="user:ana",
            note=None,
            now=T0,
        )
    )
    assert corrections(conversations) == [
        {"text": "isso não é meu", "label": "dispute"},
        {"text": "hmm talvez 🤔", "label": "promise_to_pay"},
    ]
    conversations.append(handoff_resolved("acme", "h-y", label="negotiate", message_id="m2"))
    assert corrections(conversations)[1] == {"text": "hmm talvez 🤔", "label": "negotiate"}
    with pytest.raises(HandoffError, match="unknown label"):
        correction_for(
            "acme",
            "c",
            "m2",
            "nope",
            classified_label=None,
            client_id=None,
            operator=None,
            note=None,
            now=T0,
        )
