"""The conversation book: given events of the conversation, intents, actions, sends and
dispatch topics, in any order → threads, the list of chats, open hand-offs."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import Event, SendRejectReason
from streams.domain.conversations import (
    MAX_MESSAGES,
    ConversationBook,
    correction_for,
    operator_reply,
)
from streams.domain.errors import HandoffError, InvalidMessage
from streams.domain.handoffs import resolution_for
from streams.domain.messages import OPERATOR_STEP
from tests.factories import (
    delivery_status_changed,
    dispatch_failed,
    handoff_requested,
    inbound_message,
    intent_classified,
    message_dispatched,
    send_approved,
    send_rejected,
    send_requested,
)

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PHONE = "+5531987654321"
OLD_CHAT = "553187654321@c.us"  # WhatsApp's id of the same phone, without the 9th digit
OTHER = "+5511912345678"


def _story() -> list[Event]:
    reminder = send_requested("acme", "r1", phone=PHONE, step="D0", at=T0)
    first = inbound_message("acme", phone=PHONE, message_id="in1", body="não devo isso", at=T0)
    first.timestamp = T0 + timedelta(minutes=1)
    first.chat_id = OLD_CHAT
    intent = intent_classified(
        "acme", label="dispute", confidence=0.91, phone=PHONE, message_id="in1"
    )
    intent.chat_id = OLD_CHAT
    handoff = handoff_requested("acme", reason="dispute", phone=PHONE, at=T0 + timedelta(minutes=2))
    handoff.waha_message_id = "in1"
    notice = send_requested("acme", "r2", phone=PHONE, at=T0 + timedelta(minutes=2))
    other = inbound_message("acme", phone=OTHER, message_id="in9", body="oi", at=T0)
    other.timestamp = T0 + timedelta(minutes=5)
    return [
        reminder,
        send_approved("acme", "r1", phone=PHONE),
        message_dispatched("acme", "r1", phone=PHONE, message_id="out1"),
        delivery_status_changed("acme", ack=3, phone=PHONE, message_id="out1", request_id="r1"),
        first,
        intent,
        handoff,
        notice,
        send_rejected("acme", "r2", reason=SendRejectReason.INSUFFICIENT_TOKENS),
        other,
        inbound_message("beta", phone=PHONE, message_id="b1", body="outro tenant", at=T0),
    ]


def _book(events: list[Event]) -> ConversationBook:
    book = ConversationBook()
    for event in events:
        book.apply(event)
    return book


def test_a_thread_holds_every_message_in_order_with_intents_and_delivery() -> None:
    thread = _book(_story()).thread("acme", OLD_CHAT)
    assert thread is not None
    assert [(m.direction, m.message_id) for m in thread.messages] == [
        ("outbound", "r1"),
        ("inbound", "in1"),
        ("outbound", "r2"),
    ]
    reminder, reply, notice = thread.messages
    assert (reminder.status, reminder.step, reminder.text) == ("read", "D0", "Olá!")
    assert (reply.text, reply.label, reply.confidence, reply.corrected_label) == (
        "não devo isso",
        "dispute",
        0.91,
        None,
    )
    assert notice.status == "rejected"
    assert thread.summary.chat == "5531987654321" and thread.summary.phone == PHONE
    assert thread.summary.open_handoff and thread.session == "default"
    assert [(h.reason, h.waha_message_id, h.resolved_at) for h in thread.handoffs] == [
        ("dispute", "in1", None)
    ]
    assert _book(_story()).thread("beta", OLD_CHAT) is not None
    assert _book(_story()).thread("acme", "5599999999999") is None


def test_the_order_events_arrive_in_does_not_change_the_book() -> None:
    events = _story()
    forward, backward = _book(events), _book(list(reversed(events)))
    assert forward.thread("acme", PHONE) == backward.thread("acme", PHONE)
    assert forward.summaries("acme") == backward.summaries("acme")
    twice = _book(events + events)
    assert twice.thread("acme", PHONE) == forward.thread("acme", PHONE)


def test_chats_are_listed_newest_first_with_their_last_message_and_intent() -> None:
    rows = _book(_story()).summaries("acme")
    assert [r.chat for r in rows] == ["5511912345678", "5531987654321"]
    newest, disputed = rows
    assert (newest.last_direction, newest.last_text, newest.replied) == ("inbound", "oi", True)
    assert (newest.last_label, newest.open_handoff) == (None, False)
    assert (disputed.last_direction, disputed.last_label, disputed.last_confidence) == (
        "outbound",
        "dispute",
        0.91,
    )
    assert disputed.open_handoff and disputed.client_id == "c1"


def test_an_open_hand_off_is_listed_with_its_age_and_text_until_resolved() -> None:
    book = _book(_story())
    now = T0 + timedelta(minutes=12)
    (opened,) = book.open_handoffs("acme", now)
    assert opened.age_s == 600 and opened.chat == "5531987654321"
    assert opened.handoff.text == "não devo isso" and opened.handoff.request.reason == "dispute"
    found = book.handoff("acme", opened.handoff.handoff_id)
    assert found == opened.handoff
    resolution = resolution_for(found, "negotiate", operator="user:ana", now=now)
    book.apply(resolution)
    assert book.open_handoffs("acme", now) == []
    thread = book.thread("acme", PHONE)
    assert thread is not None and not thread.summary.open_handoff
    assert thread.handoffs[0].label == "negotiate" and thread.messages[1].corrected_label == (
        "negotiate"
    )
    assert book.handoff("beta", opened.handoff.handoff_id) is None


def test_a_resolution_read_before_its_request_still_closes_it() -> None:
    events = _story()
    book = _book(events)
    (opened,) = book.open_handoffs("acme", T0)
    resolution = resolution_for(opened.handoff, "dispute", now=T0)
    reordered = _book([resolution, *events])
    assert reordered.open_handoffs("acme", T0) == []


def test_a_correction_labels_a_classified_message_and_nothing_else() -> None:
    book = _book(_story())
    chat_id, classified = book.inbound("acme", PHONE, "in1")
    assert (chat_id, classified) == (OLD_CHAT, "dispute")
    book.apply(
        correction_for(
            "acme",
            chat_id,
            "in1",
            "promise_to_pay",
            classified_label=classified,
            client_id="c1",
            operator="user:ana",
            note=None,
            now=T0,
        )
    )
    thread = book.thread("acme", PHONE)
    assert thread is not None and thread.messages[1].corrected_label == "promise_to_pay"
    with pytest.raises(HandoffError, match="no inbound message"):
        book.inbound("acme", PHONE, "r1")
    with pytest.raises(HandoffError, match="not classified"):
        book.inbound("acme", OTHER, "in9")


def test_a_persons_reply_goes_to_the_chats_phone_and_session_as_an_operator_send() -> None:
    book = _book(_story())
    phone, client, session = book.reply_target("acme", OLD_CHAT)
    assert (phone, client, session) == (PHONE, "c1", "default")
    reply = operator_reply(
        "acme",
        phone,
        "Oi, aqui é a Ana.",
        "r9",
        client_id=client,
        session=session,
        actor="user:u1",
        now=T0 + timedelta(minutes=20),
    )
    assert (reply.step, reply.phone_e164, reply.client_id, reply.session) == (
        OPERATOR_STEP,
        PHONE,
        "c1",
        "default",
    )
    assert reply.header.source == "api user:u1"
    book.apply(reply)
    thread = book.thread("acme", PHONE)
    assert thread is not None
    last = thread.messages[-1]
    assert (last.message_id, last.step, last.status, last.author) == (
        "r9",
        "operator",
        "requested",
        "api user:u1",
    )
    with pytest.raises(InvalidMessage, match="no conversation"):
        book.reply_target("acme", "5599999999999")
    with pytest.raises(InvalidMessage, match="non-empty"):
        operator_reply("acme", phone, "  ", "r10", client_id=None, session=None, actor="u", now=T0)


def test_the_accounts_own_messages_are_outbound_once() -> None:
    echo = inbound_message("acme", phone=PHONE, message_id="out1", request_id="r1", at=T0)
    echo.from_me = True
    typed = inbound_message("acme", phone=PHONE, message_id="typed", body="Ana aqui", at=T0)
    typed.from_me = True
    typed.timestamp = T0 + timedelta(hours=1)
    book = _book([send_requested("acme", "r1", phone=PHONE, at=T0), echo, typed])
    thread = book.thread("acme", PHONE)
    assert thread is not None
    assert [(m.message_id, m.direction, m.step, m.status) for m in thread.messages] == [
        ("r1", "outbound", None, "requested"),
        ("typed", "outbound", "phone", "sent"),
    ]
    book.apply(delivery_status_changed("acme", ack=2, phone=PHONE, message_id="out1"))
    thread = book.thread("acme", PHONE)
    assert thread is not None and thread.messages[0].status == "delivered"


def test_a_permanent_failure_read_before_its_request_is_kept_for_it() -> None:
    book = _book([dispatch_failed("acme", "r1", retryable=False)])
    book.apply(send_requested("acme", "r1", phone=PHONE, at=T0))
    thread = book.thread("acme", PHONE)
    assert thread is not None and thread.messages[0].status == "failed"


def test_the_collector_stops_tracking_the_messages_a_book_keeps() -> None:
    # A replica holds up to 50,000 chats per tenant: every object in them is scanned on each of
    # the collector's full passes, and those pauses are the API's slowest answers.
    book = _book(
        [
            inbound_message("acme", phone=PHONE, message_id="m1", body="oi", at=T0),
            send_requested("acme", "r1", phone=PHONE, at=T0 + timedelta(seconds=1)),
        ]
    )
    gc.collect()
    chat = book._tenants["acme"].chats[next(iter(book._tenants["acme"].chats))]
    assert len(chat.rows) == 2
    assert not any(gc.is_tracked(row) for row in chat.rows.values())
    thread = book.thread("acme", PHONE)
    assert thread is not None and [m.text for m in thread.messages] == ["oi", "Olá!"]


def test_a_chat_keeps_its_last_messages_only() -> None:
    events: list[Event] = []
    for i in range(MAX_MESSAGES + 5):
        message = inbound_message("acme", phone=PHONE, message_id=f"m{i}", body=f"#{i}", at=T0)
        message.timestamp = T0 + timedelta(seconds=i)
        events.append(message)
        events.append(intent_classified("acme", label="other", phone=PHONE, message_id=f"m{i}"))
    thread = _book(events).thread("acme", PHONE)
    assert thread is not None and len(thread.messages) == MAX_MESSAGES
    assert thread.messages[0].message_id == "m5" and thread.messages[0].label == "other"
    assert thread.messages[-1].text == f"#{MAX_MESSAGES + 4}"
